"""The data server: reference data for terminals, their documents, their remote control."""
