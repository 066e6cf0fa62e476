"""lead_defs"""
