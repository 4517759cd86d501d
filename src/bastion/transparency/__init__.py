"""Transparency: what the platform did about terrorist content, measured from the store and published as
an HTML report with charts, JSON, and DSA statements of reasons for the EU Transparency Database."""
