"""The shared kernel: money, ids, barcodes, settings, database, HTTP and the sync engine."""
