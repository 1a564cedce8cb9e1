"""netloupe.attribution"""
