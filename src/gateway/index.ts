/**
 * redstack/gateway: the "tempo" gateway. Redis pub/sub fanned out to browsers over WebSocket and
 * Server-Sent Events, with tokens, history, slow-consumer protection, metrics and a live-graphs page.
 */
export { createGateway, DEFAULT_LIMITS, type Gateway, type GatewayOptions, type GatewayLimits, type Logger } from './server.js';
export { startDemoStats, type DemoStats, type DemoStatsOptions } from './demo-stats.js';
export { createToken, verifyToken, Authorizer, type TokenClaims, type Grants, type AuthOptions } from './auth.js';
export { History, publish, parseEnvelope, compareIds, type HistoryRule, type PublishResult } from './history.js';
export { Hub, type Subscriber, type HubCounters } from './hub.js';
export { Session, type Transport, type CloseReason, type SessionOptions } from './session.js';
export { parseClientFrame, DEFAULT_FRAME_LIMITS, type ClientFrame, type FrameLimits, type RequestId } from './protocol.js';
export { GatewayError, TokenError, WIRE_CODES, type WireCode } from './errors.js';
export { globMatch, globContains } from './glob.js';
