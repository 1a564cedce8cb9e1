"""netloupe.evaluation"""
