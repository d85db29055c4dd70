"""Read models rebuilt from the event log alone (custody, timelines, indicators).

Empty for now: the projections are built in a later issue; they read entries through
``ledger.application.Ledger``'s notification log and never write to the log.
"""
