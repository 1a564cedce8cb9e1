"""netloupe.runner"""
