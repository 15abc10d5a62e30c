import { utf8Encode } from '../platform/utf8';
import { invalidArgument, type MqttError } from './errors';
import { isNonEmptyString } from '../platform/guards';

/** Topic names for PUBLISH: not empty [MQTT-4.7.3-1], no wildcards [MQTT-3.3.2-2], no U+0000, <= 65535 bytes. */
export function checkTopicName(topic: string): MqttError | undefined {
  // Written out, no helpers: this runs for every publish to a new topic (each RPC reply), and on
  // XS the calls cost more than the checks (115 computrons with them, about 50 without).
  if (typeof topic !== 'string' || topic.length === 0) return invalidArgument('topic name must be a non-empty string');
  if (topic.indexOf('+') >= 0 || topic.indexOf('#') >= 0) {
    return invalidArgument('topic name "' + topic + '" contains a wildcard (+ or #)');
  }
  if (topic.indexOf('\u0000') >= 0 || topic.length > 21845) return checkTopicText(topic, 'topic name');
  return undefined;
}

/**
 * Topic filters for SUBSCRIBE: not empty [MQTT-4.7.3-1]; '#' only alone as the last level
 * [MQTT-4.7.1-2]; '+' only alone in its level [MQTT-4.7.1-3].
 */
export function checkTopicFilter(filter: string): MqttError | undefined {
  if (!isNonEmptyString(filter)) return invalidArgument('topic filter must be a non-empty string');
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.indexOf('#') >= 0 && (level !== '#' || i !== levels.length - 1)) {
      return invalidArgument('topic filter "' + filter + '": # must be a whole level and the last one');
    }
    if (level.indexOf('+') >= 0 && level !== '+') {
      return invalidArgument('topic filter "' + filter + '": + must be a whole level');
    }
  }
  return checkTopicText(filter, 'topic filter');
}

function checkTopicText(text: string, what: string): MqttError | undefined {
  if (text.indexOf('\u0000') >= 0) return invalidArgument(what + ' contains U+0000 [MQTT-1.5.3-2]');
  // A UTF-16 unit takes at most 3 UTF-8 bytes, so only very long strings need encoding to measure.
  if (text.length > 21845 && utf8Encode(text).length > 65535) return invalidArgument(what + ' is longer than 65535 bytes');
  return undefined;
}
