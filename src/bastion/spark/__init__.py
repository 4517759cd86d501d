"""Bastion on Apache Spark: the same records, detectors and policy, with Spark as the engine.

:mod:`bastion.spark.score` is plain Python (no Spark): it turns input lines into decisions and quarantined
records exactly as ``bastion scan`` does, and is what every Spark task runs. :mod:`bastion.spark.job` is the
Spark side: it reads the inputs in parallel, runs :func:`~bastion.spark.score.score_lines` over Arrow batches
(``mapInPandas``; each Python worker builds its detectors once) and writes the decisions as Parquet, partitioned
by date, with the quarantine beside them. PySpark is an optional dependency (``bastion[spark]``).
"""
