/**
 * The canonical reader schema, contract v1 (`docs/contract/bid-request.avsc`; a unit test keeps the
 * two identical). Embedded so the worker image needs no file beside its code.
 */
export const BID_REQUEST_SCHEMA = {
  type: 'record',
  name: 'BidRequest',
  namespace: 'io.adpipe.events',
  doc: 'One bid request as received from an exchange (contract v1).',
  fields: [
    { name: 'request_id', type: 'string' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'exchange', type: 'string' },
    { name: 'publisher_id', type: 'string' },
    { name: 'site_domain', type: ['null', 'string'], default: null },
    { name: 'app_bundle', type: ['null', 'string'], default: null },
    { name: 'device_type', type: { type: 'enum', name: 'DeviceType', symbols: ['DESKTOP', 'MOBILE', 'TABLET', 'CTV', 'OTHER'], default: 'OTHER' } },
    { name: 'country', type: 'string' },
    { name: 'user_id', type: ['null', 'string'], default: null },
    { name: 'floor_price_micros', type: 'long' },
  ],
} as const;
