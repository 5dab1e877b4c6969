"""The processing center's pure rules: the journal of movements and the balances it derives, the loyalty
program (accrual, what a receipt may pay with points, the discount level, returns), the POS's
transactions (idempotent retries, holds) and the offline allowances of subordinates. No I/O: the
service layer feeds them what it read and stores what they answer."""
