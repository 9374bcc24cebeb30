// Another service's code, as it would use the client: compiled (never run) by
// test/client/consumer.test.ts against the package's "./client" entry.
import {
  createProductClient,
  ProductClientError,
  Status,
  type Product,
  type ProductClient,
} from "product-service/client";

export async function priceOf(products: ProductClient, id: string): Promise<number | undefined> {
  const product: Product | null = await products.getProduct(id, { deadline: 250 });
  return product?.price;
}

export async function namesIn(products: ProductClient, category: string): Promise<string[]> {
  const names: string[] = [];
  for await (const product of products.listProducts({ category, pageSize: 0, pageToken: "" })) names.push(product.name);
  return names;
}

export async function create(products: ProductClient): Promise<string> {
  try {
    const created = await products.createProduct(
      { name: "Mug", price: 3, categoryId: "kitchen", tags: [] },
      { requestId: "abc" },
    );
    return created.id;
  } catch (error) {
    if (error instanceof ProductClientError && error.code === Status.INVALID_ARGUMENT) return error.details;
    throw error;
  }
}

export function connect(token: string): ProductClient {
  return createProductClient({
    address: "products.internal:443",
    tls: {},
    tokenProvider: () => token,
    defaultDeadlineMs: 2_000,
  });
}

export async function mistakes(products: ProductClient): Promise<void> {
  // @ts-expect-error a price is a number
  await products.createProduct({ name: "Mug", price: "3", categoryId: "", tags: [] });
  // @ts-expect-error there is no such method
  await products.getProducts("id");
}
