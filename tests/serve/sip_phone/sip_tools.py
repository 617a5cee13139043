"""Tools of the SIP end-to-end tests."""


def lookup_order(order: str) -> str:
    """Look up an order by its number.

    Args:
        order: The order number.
    """
    return f"Order {order} ships tomorrow."
