"""A customer's first purchase through the GENERATED Python client (agora_sdk).

`make sdk-flow` generates the client from openapi/openapi.json (openapi-python-client,
into .tools/sdk-check/agora_sdk), starts a seeded live service and runs:

    python sdk/python_flow.py BASE_URL

It registers a new user, logs in, buys one unit of a seeded product (the purchase
endpoint), checks out an order with an Idempotency-Key, replays the same checkout
(same order, stock taken once) and reads the order back, asserting every answer
through the client's typed models. Exit status 0 when every step held.
"""

import sys
import uuid

from agora_sdk import AuthenticatedClient, Client
from agora_sdk.api.orders import create_order, get_order
from agora_sdk.api.products import get_product, purchase
from agora_sdk.api.sessions import login
from agora_sdk.api.users import create_user
from agora_sdk.models import (
    CreateOrder,
    CreateUser,
    Line,
    Login,
    LoginResponse,
    Order,
    OrderStatus,
    Product,
    Purchase,
    PurchaseResult,
    User,
)

# A seeded product with plenty of stock (migrations-free-seed/products.json).
PRODUCT_ID = "1003"


def expect(response, status, model):
    """The parsed body of `response`, which must have `status` and be a `model`."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.content!r}"
    )
    assert isinstance(response.parsed, model), f"expected a {model.__name__}: {response.parsed!r}"
    return response.parsed


def stock(client, product_id):
    return expect(get_product.sync_detailed(product_id, client=client), 200, Product).stock


def main(base_url):
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    suffix = uuid.uuid4().hex[:10]
    username = f"sdk_{suffix}"
    password = "sdk flow password"

    user = expect(
        create_user.sync_detailed(
            client=anonymous,
            body=CreateUser(username=username, email=f"{username}@example.com", password=password),
        ),
        201,
        User,
    )
    assert user.username == username and user.role == "user", user
    print(f"registered {username} as user {user.id}")

    session = expect(
        login.sync_detailed(client=anonymous, body=Login(login=username, password=password)),
        201,
        LoginResponse,
    )
    assert session.user.id == user.id and session.token, session
    client = AuthenticatedClient(
        base_url=base_url, token=session.token, raise_on_unexpected_status=True
    )
    print("logged in")

    before = stock(anonymous, PRODUCT_ID)
    bought = expect(
        purchase.sync_detailed(PRODUCT_ID, client=client, body=Purchase(quantity=1)),
        200,
        PurchaseResult,
    )
    assert bought.remaining_stock == before - 1, (before, bought)
    print(f"bought 1 of product {PRODUCT_ID}: stock {before} -> {bought.remaining_stock}")

    key = str(uuid.uuid4())
    body = CreateOrder(items=[Line(product_id=PRODUCT_ID, quantity=2)])
    order = expect(
        create_order.sync_detailed(client=client, body=body, idempotency_key=key), 201, Order
    )
    assert order.user_id == user.id, order
    assert order.status == OrderStatus.PENDING, order
    assert [(i.product_id, i.quantity) for i in order.items] == [(PRODUCT_ID, 2)], order
    assert order.total_cents == 2 * order.items[0].unit_price_cents, order
    assert stock(anonymous, PRODUCT_ID) == before - 3
    print(f"checked out order {order.id}: {order.total_cents} cents, status {order.status.value}")

    replay = create_order.sync_detailed(client=client, body=body, idempotency_key=key)
    again = expect(replay, 201, Order)
    assert again.id == order.id, (again.id, order.id)
    assert replay.headers.get("Idempotent-Replayed") == "true", dict(replay.headers)
    assert stock(anonymous, PRODUCT_ID) == before - 3, "the replay took stock again"
    print("replayed the checkout with the same Idempotency-Key: same order, stock taken once")

    fetched = expect(get_order.sync_detailed(order.id, client=client), 200, Order)
    assert fetched.id == order.id and fetched.total_cents == order.total_cents, fetched
    print("sdk-flow: register, login, purchase, checkout OK")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python sdk/python_flow.py BASE_URL")
    main(sys.argv[1])
