/**
 * Finding a token's slot by slot id or by token label.
 *
 * Invariants: slot ids compare as unsigned 64-bit integers (pkcs11js gives CK_SLOT_ID as a
 * native-endian Buffer); token labels compare without CK_TOKEN_INFO's space padding (32
 * characters); a label must name exactly one token, and the token must be initialised. Slots
 * whose token vanishes while they are listed are skipped.
 */
import { fromPkcs11Error, HsmError } from './hsm-error';
import type { Handle, TokenInfo } from './pkcs11-binding';
import { ulongValue } from './pkcs11-keys';
import type { Pkcs11Library } from './pkcs11-library';

export interface FoundSlot {
  slot: Handle;
  slotId: bigint;
  /** The token label, padding removed. */
  label: string;
}

export interface SlotChoice {
  slot?: bigint;
  tokenLabel?: string;
}

export function findSlot(lib: Pkcs11Library, choice: SlotChoice): FoundSlot {
  const m = lib.module;
  const list = (present: boolean) => {
    try {
      return m.C_GetSlotList(present);
    } catch (err) {
      throw fromPkcs11Error(err, `listing the slots of ${lib.path}`);
    }
  };
  let found: FoundSlot & { info: TokenInfo };
  if (choice.slot !== undefined) {
    const slot = list(false).find((s) => ulongValue(s) === choice.slot);
    if (!slot) throw new HsmError('token-absent', `there is no slot ${choice.slot} in ${lib.path}`);
    let info: TokenInfo;
    try {
      info = m.C_GetTokenInfo(slot);
    } catch (err) {
      throw fromPkcs11Error(err, `reading the token in slot ${choice.slot} of ${lib.path}`, { kinds: { CKR_GENERAL_ERROR: 'token-absent' } });
    }
    found = { slot, slotId: choice.slot, label: info.label.trim(), info };
  } else {
    const wanted = (choice.tokenLabel ?? '').trim();
    const tokens: (FoundSlot & { info: TokenInfo })[] = [];
    for (const slot of list(true)) {
      try {
        const info = m.C_GetTokenInfo(slot);
        tokens.push({ slot, slotId: ulongValue(slot), label: info.label.trim(), info });
      } catch {
        // Removed while listing, or unreadable: not the token we look for.
      }
    }
    const matches = tokens.filter((t) => t.label === wanted && t.info.flags & lib.binding.CKF_TOKEN_INITIALIZED);
    if (matches.length === 0) {
      const labels = tokens.filter((t) => t.info.flags & lib.binding.CKF_TOKEN_INITIALIZED).map((t) => `'${t.label}'`);
      throw new HsmError('token-absent', `there is no token labelled '${wanted}' in ${lib.path} (tokens present: ${labels.join(', ') || 'none'})`);
    }
    if (matches.length > 1) {
      const slots = matches.map((t) => t.slotId).join(', ');
      throw new HsmError('token-absent', `${matches.length} tokens are labelled '${wanted}' in ${lib.path} (slots ${slots}): configure the slot instead`);
    }
    found = matches[0];
  }
  if (!(found.info.flags & lib.binding.CKF_TOKEN_INITIALIZED))
    throw new HsmError('token-absent', `the token in slot ${found.slotId} of ${lib.path} is not initialised`);
  const { slot, slotId, label } = found;
  return { slot, slotId, label };
}
