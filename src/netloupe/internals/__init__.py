"""netloupe.internals"""
