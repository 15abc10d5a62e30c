/**
 * A small EventEmitter for mqtt-packet (Parser extends it; generate's Accumulator too).
 * The listener table lives on the instance, never on the prototype: after a Moddable preload the
 * prototype is frozen, and npm `events` fails with "set _events: not writable" (DESIGN.md).
 */
export class EventEmitter {
  constructor() {
    this._listeners = null; // { [event]: Function[] }, created on first on()
  }

  on(event, listener) {
    const table = this._listeners || (this._listeners = {});
    const list = table[event];
    if (list) list.push(listener);
    else table[event] = [listener];
    return this;
  }

  addListener(event, listener) {
    return this.on(event, listener);
  }

  once(event, listener) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      listener.apply(this, args);
    };
    wrapper.listener = listener;
    return this.on(event, wrapper);
  }

  off(event, listener) {
    const list = this._listeners && this._listeners[event];
    if (!list) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i] === listener || list[i].listener === listener) {
        list.splice(i, 1);
        break;
      }
    }
    if (list.length === 0) delete this._listeners[event];
    return this;
  }

  removeListener(event, listener) {
    return this.off(event, listener);
  }

  removeAllListeners(event) {
    if (!this._listeners) return this;
    if (event === undefined) this._listeners = null;
    else delete this._listeners[event];
    return this;
  }

  listenerCount(event) {
    const list = this._listeners && this._listeners[event];
    return list ? list.length : 0;
  }

  emit(event, ...args) {
    const list = this._listeners && this._listeners[event];
    if (!list) {
      if (event === 'error') throw args[0] instanceof Error ? args[0] : new Error('Unhandled error event');
      return false;
    }
    if (list.length === 1) list[0].apply(this, args);
    else {
      const copy = list.slice();
      for (let i = 0; i < copy.length; i++) copy[i].apply(this, args);
    }
    return true;
  }
}

export default EventEmitter;
