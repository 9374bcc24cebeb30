"""The seed's Python client (app/clients/product_client.py), run against the
server: it must keep working as the service grows. It reads a status only by
its code and details, as the seed does; the error details the server adds in
grpc-status-details-bin must not get in its way.

usage: seed_client.py <generated-dir> <host:port> <token>
Prints one JSON object with what each call returned.
"""
import json
import sys
import uuid

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from product.v1 import product_pb2, product_pb2_grpc  # noqa: E402


def generate_request_id() -> str:
    return str(uuid.uuid4())


class ProductClient:
    def __init__(self, address: str, token: str):
        # The seed uses ssl_channel_credentials(); the test server is plaintext on loopback.
        self.stub = product_pb2_grpc.ProductServiceStub(grpc.insecure_channel(address))
        self.auth = ("authorization", f"Bearer {token}")

    def get_product(self, product_id: str):
        try:
            return self.stub.GetProduct(
                product_pb2.GetProductRequest(id=product_id),
                timeout=5.0,
                metadata=[("x-request-id", generate_request_id()), self.auth],
            )
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def list_products_streaming(self, category: str = None):
        """Server streaming: iterate over yielded products."""
        request = product_pb2.ListProductsRequest(category=category or "")
        for product in self.stub.ListProducts(request, timeout=5.0, metadata=[self.auth]):
            yield product

    def create_product(self, name: str, price: float, category_id: str = ""):
        return self.stub.CreateProduct(
            product_pb2.CreateProductRequest(name=name, price=price, category_id=category_id),
            timeout=5.0,
            metadata=[("x-request-id", generate_request_id()), self.auth],
        )


def main() -> None:
    client = ProductClient(sys.argv[2], sys.argv[3])
    created = client.create_product("seed pen", 1.5, "seed-python")
    found = client.get_product(created.id)
    missing = client.get_product("00000000-0000-4000-8000-000000000000")
    listed = [p.name for p in client.list_products_streaming("seed-python")]
    try:
        client.create_product("", 1.0)
        invalid = None
    except grpc.RpcError as e:
        invalid = {"code": e.code().name, "details": e.details()}
    print(json.dumps({
        "created": {"id": created.id, "name": created.name, "price": created.price, "in_stock": created.in_stock},
        "found": found.name if found is not None else None,
        "missing": missing is None,
        "listed": listed,
        "invalid": invalid,
    }))


if __name__ == "__main__":
    main()
