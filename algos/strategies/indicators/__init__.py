"""What strategies decide with: TA-Lib indicators over bar series, market regime, trading session, order flow."""
