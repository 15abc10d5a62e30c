/** A device as the dashboard lists it (GET /dashboard/devices and the live stream). */
import type { Ctx } from '../context';
import type { DeviceRecord } from '../registry';
import type { Activity } from './activity';
import type { DeviceSummary } from './protocol';

export function deviceSummary(ctx: Ctx, rec: DeviceRecord, activity: Activity): DeviceSummary {
  return {
    id: rec.id,
    name: rec.name,
    type: rec.type,
    gateway: rec.gateway,
    // As TbServer.isConnected: its own session, or a child session through a gateway.
    active: !!ctx.sessions.ofDevice(rec) || !!ctx.sessions.gatewayOf(rec),
    ...activity,
    parentGateway: rec.parentGateway ?? null,
    firmwareId: rec.firmwareId ?? null,
  };
}
