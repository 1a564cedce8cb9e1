"""netloupe.web"""
