"""netloupe.viz"""
