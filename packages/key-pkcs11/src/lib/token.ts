import { timingSafeEqual } from 'node:crypto';
import type { PKCS11 } from 'pkcs11js';
import { Pkcs11Error } from '../errors.js';
import type { Pkcs11Uri } from '../parse-pkcs11-uri.js';
import {
  CKF_LOGIN_REQUIRED,
  CKF_SERIAL_SESSION,
  CKF_USER_PIN_FINAL_TRY,
  CKF_USER_PIN_INITIALIZED,
  CKF_USER_PIN_LOCKED,
  CKU_USER,
} from './ck.js';
import { acquireModule, releaseModule, resolveModulePath, type LoadedModule } from './module-registry.js';
import { defaultWarningSink, resolvePin, type WarningSink } from './pin.js';
import { ckrOf, toPkcs11Error } from './to-pkcs11-error.js';

type Handle = Buffer;

/** How a token is reached, beside what its URI says. */
export interface Pkcs11Options {
  /** Module path when the URI names none (default: `OVSEAL_PKCS11_MODULE`). */
  readonly module?: string;
  /** Sessions opened at most on one token by this process (default 4). */
  readonly maxSessions?: number;
  /** Where warnings go (a PIN in the URI, a final PIN try). Default: `process.emitWarning`. */
  readonly onWarning?: (message: string) => void;
}

const DEFAULT_MAX_SESSIONS = 4;

function trimmed(text: string): string {
  return text.replace(/[\s\0]+$/, '');
}

function slotNumber(slot: Handle): bigint {
  return slot.length >= 8 ? slot.readBigUInt64LE(0) : BigInt(slot.readUInt32LE(0));
}

function versionText(version: { major: number; minor: number }): string {
  return `${version.major}.${version.minor}`;
}

/** The one slot whose module, slot and token attributes match the URI. */
function selectSlot(api: PKCS11, uri: Pkcs11Uri, modulePath: string): Handle {
  const info = api.C_GetInfo();
  const library = {
    libraryManufacturer: trimmed(info.manufacturerID),
    libraryDescription: trimmed(info.libraryDescription),
    libraryVersion: versionText(info.libraryVersion),
  };
  for (const [field, actual] of Object.entries(library) as [keyof typeof library, string][]) {
    const wanted = uri[field];
    if (wanted !== undefined && wanted !== actual && !(field === 'libraryVersion' && `${wanted}.0` === actual)) {
      throw new Pkcs11Error(
        'ERR_PKCS11_TOKEN_NOT_FOUND',
        `the module ${modulePath} is ${field} ${JSON.stringify(actual)}, not ${JSON.stringify(wanted)}`,
      );
    }
  }
  const seen: string[] = [];
  const matches = api.C_GetSlotList(true).filter((slot) => {
    const slotInfo = api.C_GetSlotInfo(slot);
    const token = api.C_GetTokenInfo(slot);
    seen.push(`${JSON.stringify(trimmed(token.label))} (serial ${trimmed(token.serialNumber)})`);
    const checks: [string | bigint | undefined, string | bigint][] = [
      [uri.slotId, slotNumber(slot)],
      [uri.slotDescription, trimmed(slotInfo.slotDescription)],
      [uri.slotManufacturer, trimmed(slotInfo.manufacturerID)],
      [uri.token, trimmed(token.label)],
      [uri.manufacturer, trimmed(token.manufacturerID)],
      [uri.serial, trimmed(token.serialNumber)],
      [uri.model, trimmed(token.model)],
    ];
    return checks.every(([wanted, actual]) => wanted === undefined || wanted === actual);
  });
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new Pkcs11Error(
      'ERR_PKCS11_TOKEN_NOT_FOUND',
      `no token matches the URI in ${modulePath} (tokens present: ${seen.join(', ') || 'none'})`,
      {
        hint: 'check token= (the label) or serial= in the pkcs11: URI',
      },
    );
  }
  throw new Pkcs11Error('ERR_PKCS11_AMBIGUOUS', `${matches.length} tokens match the URI in ${modulePath}: ${seen.join(', ')}`, {
    hint: 'add token=LABEL or serial=… to the URI',
  });
}

/**
 * One token of one module, shared in this process by every recipient, identity and signer that
 * names it: a pool of sessions (a session runs one operation at a time), and one login held while
 * any of them is open. The last {@link TokenConnection.release} logs out, closes every session and
 * releases the module.
 */
export class TokenConnection {
  private refs = 0;
  private readonly idle: Handle[] = [];
  private readonly all = new Set<Handle>();
  private readonly waiting: ((session: Handle) => void)[] = [];
  private busy = 0;
  private drained: (() => void) | undefined;
  private loggedInByUs = false;
  /** The PIN, kept for keys that ask for it again (CKA_ALWAYS_AUTHENTICATE). */
  private pin: string | undefined;

  private constructor(
    readonly key: string,
    readonly module: LoadedModule,
    readonly slot: Handle,
    readonly description: string,
    private readonly maxSessions: number,
  ) {}

  get api(): PKCS11 {
    return this.module.api;
  }

  /** Runs `operation` on a session of its own; the session returns to the pool afterwards. */
  async withSession<T>(operation: (api: PKCS11, session: Handle) => Promise<T> | T): Promise<T> {
    const session = await this.acquire();
    this.busy += 1;
    let healthy = true;
    try {
      return await operation(this.api, session);
    } catch (error) {
      const ckr = ckrOf(error);
      if (ckr === 'CKR_SESSION_HANDLE_INVALID' || ckr === 'CKR_SESSION_CLOSED' || ckr === 'CKR_DEVICE_REMOVED') healthy = false;
      throw error;
    } finally {
      this.busy -= 1;
      this.giveBack(session, healthy);
    }
  }

  /** Logs in again for the next operation only (keys with CKA_ALWAYS_AUTHENTICATE). */
  loginForOperation(session: Handle): void {
    if (this.pin === undefined)
      throw new Pkcs11Error('ERR_PKCS11_PIN_REQUIRED', `the key in ${this.description} asks for the PIN at each use, and no PIN was given`);
    try {
      this.api.C_Login(session, 2 /* CKU_CONTEXT_SPECIFIC */, this.pin);
    } catch (error) {
      throw toPkcs11Error(error, 'C_Login', this.description);
    }
  }

  private async acquire(): Promise<Handle> {
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.all.size < this.maxSessions) return this.openSession();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private giveBack(session: Handle, healthy: boolean): void {
    if (!healthy) {
      this.all.delete(session);
      try {
        this.api.C_CloseSession(session);
      } catch {
        // already gone with the device
      }
    } else {
      const next = this.waiting.shift();
      if (next) return next(session);
      this.idle.push(session);
    }
    if (this.busy === 0) this.drained?.();
  }

  private openSession(): Handle {
    try {
      const session = this.api.C_OpenSession(this.slot, CKF_SERIAL_SESSION);
      this.all.add(session);
      return session;
    } catch (error) {
      throw toPkcs11Error(error, 'C_OpenSession', this.description);
    }
  }

  /** Logs the user in on a first session (PKCS#11 logins hold for every session of the process). */
  private login(pin: string | undefined, warn: WarningSink): void {
    const token = this.api.C_GetTokenInfo(this.slot);
    if (pin === undefined) {
      if (token.flags & CKF_LOGIN_REQUIRED) {
        throw new Pkcs11Error('ERR_PKCS11_PIN_REQUIRED', `${this.description} needs a login and no PIN was given`, {
          hint: 'add pin-source=file:PATH or pin-source=env:NAME to the pkcs11: URI (or set OVSEAL_PKCS11_PIN)',
        });
      }
      return;
    }
    if (token.flags & CKF_USER_PIN_LOCKED)
      throw new Pkcs11Error('ERR_PKCS11_TOKEN_LOCKED', `${this.description}: the user PIN is locked`, { ckr: 'CKR_PIN_LOCKED' });
    if (!(token.flags & CKF_USER_PIN_INITIALIZED)) {
      throw new Pkcs11Error('ERR_PKCS11_TOKEN_LOCKED', `${this.description}: the user PIN was never initialised`, {
        ckr: 'CKR_USER_PIN_NOT_INITIALIZED',
        hint: 'the security officer sets it with `pkcs11-tool --init-pin`',
      });
    }
    if (token.flags & CKF_USER_PIN_FINAL_TRY) warn(`${this.description}: one wrong PIN more locks the token`);
    const session = this.openSession();
    this.idle.push(session);
    try {
      this.api.C_Login(session, CKU_USER, pin);
      this.loggedInByUs = true;
    } catch (error) {
      if (ckrOf(error) !== 'CKR_USER_ALREADY_LOGGED_IN') throw toPkcs11Error(error, 'C_Login', this.description);
    }
    this.pin = pin;
  }

  /**
   * A PKCS#11 login holds for the whole process, so a second handle on a logged-in token does not
   * log in again; its PIN must still be the one that logged in, or it is refused like a wrong PIN.
   */
  checkSamePin(pin: string | undefined): void {
    if (pin === undefined || this.pin === undefined) return;
    const given = Buffer.from(pin);
    const known = Buffer.from(this.pin);
    if (given.length !== known.length || !timingSafeEqual(given, known)) {
      throw new Pkcs11Error(
        'ERR_PKCS11_PIN_INCORRECT',
        `PKCS#11 C_Login (${this.description}): CKR_PIN_INCORRECT (the PIN differs from the one this process is logged in with)`,
        {
          ckr: 'CKR_PIN_INCORRECT',
          operation: 'C_Login',
          hint: 'check the PIN (pin-source=file:PATH or env:NAME); repeated wrong PINs can lock the token',
        },
      );
    }
  }

  /** Drops one reference; the last one waits for running operations, then logs out and closes. */
  async release(): Promise<void> {
    this.refs -= 1;
    if (this.refs > 0) return;
    connections.delete(this.key);
    if (this.busy > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.shutdown();
  }

  private shutdown(): void {
    try {
      const first = this.all.values().next().value;
      if (this.loggedInByUs && first) {
        try {
          this.api.C_Logout(first);
        } catch {
          // a removed token is logged out anyway
        }
      }
      for (const session of this.all) {
        try {
          this.api.C_CloseSession(session);
        } catch {
          // same
        }
      }
    } finally {
      this.all.clear();
      this.idle.length = 0;
      this.pin = undefined;
      releaseModule(this.module);
    }
  }

  /** The connection for a URI: shared with others of this process that name the same token. */
  static async connect(uri: Pkcs11Uri, options: Pkcs11Options = {}): Promise<TokenConnection> {
    const warn = options.onWarning ?? defaultWarningSink;
    const pin = await resolvePin(uri, warn);
    const modulePath = resolveModulePath(uri.modulePath, uri.moduleName, options.module);
    const module = acquireModule(modulePath);
    let connection: TokenConnection | undefined;
    try {
      const slot = selectSlot(module.api, uri, modulePath);
      const token = module.api.C_GetTokenInfo(slot);
      const key = `${modulePath}\0${slot.toString('hex')}`;
      const shared = connections.get(key);
      if (shared) {
        releaseModule(module);
        shared.checkSamePin(pin);
        shared.refs += 1;
        return shared;
      }
      const description = `token ${JSON.stringify(trimmed(token.label))} (serial ${trimmed(token.serialNumber)})`;
      connection = new TokenConnection(key, module, slot, description, options.maxSessions ?? DEFAULT_MAX_SESSIONS);
      connection.login(pin, warn);
      connection.refs = 1;
      connections.set(key, connection);
      return connection;
    } catch (error) {
      if (connection) connection.shutdown();
      else releaseModule(module);
      throw toPkcs11Error(error, 'C_GetSlotList', modulePath);
    }
  }
}

const connections = new Map<string, TokenConnection>();
