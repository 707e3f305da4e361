// What the shop routes answer (the OpenAPI document at /openapi.json has every field).

export interface MenuItem {
  id: string;
  name: string;
  available: boolean;
  base_price_bch: string;
  base_price_sats: number;
}

export interface MenuPage {
  category: string;
  items: MenuItem[];
  page: number;
  total_pages: number;
}

export interface ProductOptions {
  product_id: string;
  product_name: string;
  options: Record<string, string[]>;
}

export interface Design {
  design_id: string;
  design_url: string;
  original_name: string;
  width: number;
  height: number;
  created: string;
}

export interface Order {
  order_id: string;
  status: string;
  product_id: string;
  product_options: Record<string, string>;
  design_id: string;
  design_url: string;
  total_bch: string;
  total_sats: number;
  payment_address: string;
  quote_expires_at: string;
  paid: boolean;
  tx_id?: string;
  gelato_order_id?: string;
  tracking_url?: string;
  failure_reason?: string;
  transitions: { status: string; at: string; note: string }[];
  created: string;
}

/** Words for an order's status. */
export const STATUS: Record<string, string> = {
  awaiting_payment: "Waiting for payment",
  paid: "Paid",
  submitted: "With the printer",
  shipped: "Shipped",
  delivered: "Delivered",
  failed: "Failed",
};

export function statusBand(status: string): string {
  return status === "failed" ? "poor" : status === "awaiting_payment" ? "fair" : "good";
}
