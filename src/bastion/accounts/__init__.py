"""Accounts: the account behind the content, its network, and suspended users who come back.

* :mod:`.features` - profile signals (organisation terms, shout-out and "back after suspension" markers,
  numbered handles, look-alike letters);
* :mod:`.risk` and :mod:`.detector` - the ``account_risk`` detector: policy-weighted, time-decayed strikes
  plus profile, avatar and network evidence, explained by its top contributions;
* :mod:`.network` - the interaction graph, propagation from known-bad seeds, communities for bulk review;
* :mod:`.fingerprint`, :mod:`.evasion_index` and :mod:`.ban_evasion` - the ``ban_evasion`` detector:
  fingerprints of suspended accounts, an index for millisecond look-ups at registration, ranked and
  explained candidates;
* :mod:`.evaluation` - ``bastion eval accounts``.

Nothing here imports a web framework, a database session or a cluster runtime; state is keyed by account
and snapshots to ``.npz`` (no pickle).
"""
