"""Device drivers and their emulators: fiscal registrar, receipt printer, card terminal, scales."""
