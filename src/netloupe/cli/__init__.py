"""netloupe.cli"""
