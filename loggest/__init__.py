"""CDN access logs: formats (bytes → records), sources (local, SFTP), store (ClickHouse).

The pipeline has three replaceable stages, like Vector: a *source* yields files, a
*format* turns lines into records (pure Python reference, or compiled to ClickHouse SQL),
a *sink* stores them (:mod:`loggest.store`). :mod:`loggest.ingest` ties them together
with the exactly-once rules of SPEC §4.
"""
