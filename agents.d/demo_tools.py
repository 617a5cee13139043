"""Tools of the example graph. They use canned data, so the example runs without any service."""

from __future__ import annotations

_FORECASTS = {
    "paris": "sunny, 21 °C",
    "london": "light rain, 15 °C",
    "tokyo": "cloudy, 18 °C",
}


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: Name of the city, e.g. "Paris".
    """
    forecast = _FORECASTS.get(city.strip().lower(), "clear skies, 20 °C")
    return f"The weather in {city} is {forecast}."


async def book_table(restaurant: str, time: str, party_size: int = 2) -> dict[str, object]:
    """Book a table at a restaurant.

    Args:
        restaurant: Name of the restaurant.
        time: Time of the reservation, e.g. "19:30".
        party_size: Number of guests.
    """
    return {"confirmed": True, "restaurant": restaurant, "time": time, "party_size": party_size}
