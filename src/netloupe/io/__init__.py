"""netloupe.io"""
