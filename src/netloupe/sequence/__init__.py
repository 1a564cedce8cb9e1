"""netloupe.sequence"""
