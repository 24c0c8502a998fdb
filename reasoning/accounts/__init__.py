"""Accounts: who may use the server and what they may spend.

api_keys.py  ApiKey and ApiKeys: hashed secrets, roles, a dollar budget per period
ledger.py    Ledger: settled spend per key and period, reservations of running requests
"""
