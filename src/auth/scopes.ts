// Which scope each ProductService method needs. The Record type makes a new
// RPC fail to compile until it is given a scope here; the auth middleware
// denies any method missing from the map at run time as well.
import { ProductServiceDefinition } from "../../gen/product/v1/product";

export const SCOPES = { read: "products:read", write: "products:write" } as const;

const METHOD_SCOPES: Record<keyof typeof ProductServiceDefinition.methods, string> = {
  getProduct: SCOPES.read,
  listProducts: SCOPES.read,
  watchPrices: SCOPES.read,
  createProduct: SCOPES.write,
  deleteProduct: SCOPES.write,
  batchCreateProducts: SCOPES.write,
  updatePrice: SCOPES.write,
};

/** Method path (/product.v1.ProductService/GetProduct) → required scope. */
export const REQUIRED_SCOPES: ReadonlyMap<string, string> = new Map(
  Object.entries(METHOD_SCOPES).map(([key, scope]) => {
    const method = ProductServiceDefinition.methods[key as keyof typeof METHOD_SCOPES];
    return [`/${ProductServiceDefinition.fullName}/${method.name}`, scope];
  }),
);
