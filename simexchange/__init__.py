"""A simulated Binance USD-M futures exchange that unmodified ccxt trades against.

It imports nothing from the PMS: it is the venue of the embedded demo, of integration and chaos
tests, and (in-process, with a virtual clock) of backtests.
"""
