/** The Mosquitto the MQTT tests use (127.0.0.1:1883, anonymous; SLUICE_MQTT_URL overrides) and session cleanup. */
import mqtt from 'mqtt';

export const BROKER = process.env.SLUICE_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/** Removes a persistent session from the broker (connect with clean = true, disconnect). */
export async function dropSession(clientId: string): Promise<void> {
  const c = await mqtt.connectAsync(BROKER, { clientId, clean: true, reconnectPeriod: 0 });
  await c.endAsync();
}
