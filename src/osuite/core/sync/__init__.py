"""One sync engine for every link between an edge and its center.

Down: the center's change log (:mod:`.changelog`), pulled page by page by the edge's :mod:`.puller`
into its replica, cursor and data in one transaction. Up: the edge's :mod:`.outbox`, sent in batches
to the center's idempotent :mod:`.intake`. :mod:`.routes` publishes both ends of the center over HTTP;
:mod:`.transport` is the edge's HTTP client for them. The engine knows nothing of receipts or products.
"""
