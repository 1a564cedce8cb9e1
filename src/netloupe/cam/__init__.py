"""netloupe.cam"""
