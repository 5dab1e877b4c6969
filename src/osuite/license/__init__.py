"""The license server: checks the customer's signed license and hands out seat leases to every program."""
