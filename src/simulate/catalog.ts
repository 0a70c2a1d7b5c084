import type { RiskTier } from '../../processors/core/events.ts';

/**
 * The simulated world: which agents exist, what each can do, at which vendors, with which risk, and
 * how those vendors behave. Plain data; traffic.ts and scenarios.ts draw from it.
 */

/** One kind of action an agent takes. `w` weighs how often it is chosen. */
export interface ActionKind {
  name: string;
  riskTier: RiskTier;
  stateChanging: boolean;
  /** The token scope it needs. */
  scope: string;
  vendors: readonly string[];
  /** Typical amount (minor units) for a priced action, 0 for none. */
  amount: number;
  /** Undone by a refund (payments) rather than a cancellation. */
  refund?: boolean;
  w: number;
}

export interface AgentKind {
  id: string;
  version: string;
  actions: readonly ActionKind[];
  /** Share of intents. */
  w: number;
}

const A = (name: string, riskTier: RiskTier, stateChanging: boolean, scope: string, vendors: string[], amount: number, w: number, refund = false): ActionKind => ({
  name, riskTier, stateChanging, scope, vendors, amount, w, ...(refund ? { refund } : {}),
});

export const FLIGHT_SEARCH = A('flight.search', 'low', false, 'flights:read', ['acme-air', 'sky-jet'], 0, 40);
export const FLIGHT_BOOK = A('flight.book', 'high', true, 'flights:write', ['acme-air', 'sky-jet'], 42_000, 8);
export const HOTEL_BOOK = A('hotel.book', 'medium', true, 'hotels:write', ['globe-hotels'], 18_000, 12);
export const CAB_BOOK = A('cab.book', 'medium', true, 'rides:write', ['city-cabs'], 2_400, 15);
export const PRODUCT_SEARCH = A('product.search', 'low', false, 'catalog:read', ['mega-mart'], 0, 40);
export const CART_ADD = A('cart.add', 'low', true, 'cart:write', ['mega-mart'], 0, 30);
export const ORDER_PLACE = A('order.place', 'medium', true, 'orders:write', ['mega-mart', 'quick-eats'], 3_500, 15);
export const RESTAURANT_SEARCH = A('restaurant.search', 'low', false, 'dining:read', ['dine-now', 'quick-eats'], 0, 30);
export const TABLE_RESERVE = A('table.reserve', 'low', true, 'dining:write', ['dine-now'], 0, 15);
export const INVOICE_FETCH = A('invoice.fetch', 'low', false, 'invoices:read', ['pay-fast'], 0, 30);
export const PAYMENT_SEND = A('payment.send', 'high', true, 'payments:write', ['pay-fast'], 25_000, 10, true);

export const AGENTS: readonly AgentKind[] = [
  { id: 'travel-assistant', version: '2.3.1', actions: [FLIGHT_SEARCH, FLIGHT_BOOK, HOTEL_BOOK], w: 30 },
  { id: 'shop-helper', version: '4.0.2', actions: [PRODUCT_SEARCH, CART_ADD, ORDER_PLACE], w: 25 },
  { id: 'food-orderer', version: '1.8.0', actions: [RESTAURANT_SEARCH, TABLE_RESERVE, ORDER_PLACE], w: 20 },
  { id: 'concierge', version: '0.9.4', actions: [HOTEL_BOOK, CAB_BOOK, TABLE_RESERVE, RESTAURANT_SEARCH], w: 15 },
  { id: 'billing-bot', version: '3.1.0', actions: [INVOICE_FETCH, PAYMENT_SEND], w: 10 },
];

/** An agent only the rejected-confirmations scenario runs: a new one users do not trust yet. */
export const GIFT_FINDER: AgentKind = { id: 'gift-finder', version: '0.3.0', actions: [ORDER_PLACE], w: 0 };

export const VENDORS = ['acme-air', 'sky-jet', 'globe-hotels', 'city-cabs', 'mega-mart', 'quick-eats', 'dine-now', 'pay-fast'] as const;

export const PLANS = ['free', 'paid', 'enterprise'] as const;

export function agentById(id: string): AgentKind {
  const a = AGENTS.find((x) => x.id === id) ?? (id === GIFT_FINDER.id ? GIFT_FINDER : undefined);
  if (!a) throw new Error(`no simulated agent ${id}`);
  return a;
}
