// Type-checked by `make sdk-flow` (tsc --noEmit --strict) against the types that
// openapi-typescript generates from openapi/openapi.json into .tools/sdk-check/agora.d.ts.
// If a schema this code relies on is renamed or loses a field, the check fails.
import type { components, paths } from "../.tools/sdk-check/agora";

type Order = components["schemas"]["Order"];
type CreateOrder = paths["/v1/orders"]["post"]["requestBody"]["content"]["application/json"];
type Placed = paths["/v1/orders"]["post"]["responses"][201]["content"]["application/json"];
type Problem = components["schemas"]["Problem"];

export const checkout: CreateOrder = { items: [{ product_id: "1003", quantity: 2 }] };

export function summary(order: Placed): string {
  const lines = order.items.map((i) => `${i.quantity} x ${i.name}`);
  return `${order.id} (${order.status}): ${lines.join(", ")} = ${order.total_cents} cents`;
}

export function isProblem(body: Order | Problem): body is Problem {
  return "title" in body && "status" in body && typeof body.status === "number";
}
