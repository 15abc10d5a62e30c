"""An MQTT 5 device on Eclipse Paho (Debian's python3-paho-mqtt), the library ThingsBoard's Python
SDK 1.x is built on, connecting as the SDK does (tb_device_mqtt.py: protocol 5, keepalive 120, its
four subscriptions). Prints one JSON line of what it saw; the test judges it.

    python3 paho-mqtt5-client.py PORT TOKEN
"""
import json
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

port, token = int(sys.argv[1]), sys.argv[2]
seen = {"pubacks": 0}
answered = threading.Event()


def alias(n):
    props = Properties(PacketTypes.PUBLISH)
    props.TopicAlias = n
    return props


def on_connect(client, userdata, flags, rc, props=None):
    limits = ("MaximumPacketSize", "ReceiveMaximum", "TopicAliasMaximum", "MaximumQoS")
    seen["connack"] = {"reason": str(rc), **{k: getattr(props, k) for k in limits if hasattr(props, k)}}
    client.subscribe([
        ("v1/devices/me/attributes", 1),
        ("v1/devices/me/attributes/response/+", 1),
        ("v1/devices/me/rpc/request/+", 1),
        ("v1/devices/me/rpc/response/+", 1),
        ("no/such/#", 1),
    ])


def on_subscribe(client, userdata, mid, reason_codes, props=None):
    seen["suback"] = [str(r) for r in reason_codes]
    client.publish("v1/devices/me/telemetry", json.dumps({"first": 1}), qos=1, properties=alias(1))
    client.publish("", json.dumps({"second": 2}), qos=1, properties=alias(1))
    client.publish("v1/devices/me/rpc/request/1", json.dumps({"method": "getSessionLimits", "params": {}}), qos=1)


def on_publish(client, userdata, mid):
    seen["pubacks"] += 1


def on_message(client, userdata, message):
    seen["rpc"] = {"topic": message.topic, "body": json.loads(message.payload)}
    answered.set()


client = mqtt.Client(client_id="paho5", protocol=mqtt.MQTTv5)
client.username_pw_set(token)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_publish = on_publish
client.on_message = on_message
client.connect("127.0.0.1", port, keepalive=120)
client.loop_start()
answered.wait(10)
client.disconnect()
client.loop_stop()
print(json.dumps(seen))
