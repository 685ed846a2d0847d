/**
 * Distinguished names: the DistinguishedName record <-> X.501 Name DER.
 *
 * Invariants:
 * - RDNs come in Go's pkix.Name order (C, ST, L, street, postalCode, O, OU, CN, serialNumber) and,
 *   like Go, the several values of one field form one multi-valued RDN, whose members are sorted
 *   by their encoding as DER requires for a SET OF;
 * - country and serialNumber are PrintableString (X.520 defines them so; other characters throw),
 *   every other value is UTF8String (RFC 5280 4.1.2.6);
 * - empty strings and empty lists are left out; an empty record encodes the empty SEQUENCE.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';

export interface DistinguishedName {
  commonName?: string;
  organization?: string[];
  organizationalUnit?: string[];
  country?: string[];
  locality?: string[];
  province?: string[];
  streetAddress?: string[];
  postalCode?: string[];
  serialNumber?: string;
}

export const NAME_ATTRIBUTE_OIDS = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  country: '2.5.4.6',
  locality: '2.5.4.7',
  province: '2.5.4.8',
  streetAddress: '2.5.4.9',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  postalCode: '2.5.4.17',
} as const satisfies Record<keyof DistinguishedName, string>;

type NameField = keyof DistinguishedName;

/** Go's RDN order (crypto/x509/pkix Name.ToRDNSequence). */
const RDN_ORDER: readonly NameField[] = [
  'country',
  'province',
  'locality',
  'streetAddress',
  'postalCode',
  'organization',
  'organizationalUnit',
  'commonName',
  'serialNumber',
];

const PRINTABLE_FIELDS: ReadonlySet<NameField> = new Set<NameField>(['country', 'serialNumber']);
const PRINTABLE_STRING = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

const FIELD_BY_OID = new Map<string, NameField>((Object.entries(NAME_ATTRIBUTE_OIDS) as [NameField, string][]).map(([field, oid]) => [oid, field]));

function valuesOf(dn: DistinguishedName, field: NameField): string[] {
  const raw = dn[field];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.filter((value) => value !== '');
}

function attribute(field: NameField, value: string): AttributeTypeAndValue {
  if (PRINTABLE_FIELDS.has(field)) {
    if (!PRINTABLE_STRING.test(value)) {
      throw new Error(`subject ${field} "${value}" has characters a PrintableString cannot hold`);
    }
    return new AttributeTypeAndValue({
      type: NAME_ATTRIBUTE_OIDS[field],
      value: new AttributeValue({ printableString: value }),
    });
  }
  return new AttributeTypeAndValue({ type: NAME_ATTRIBUTE_OIDS[field], value: new AttributeValue({ utf8String: value }) });
}

/** One RDN holding all of `values`, members in DER SET OF order. */
function relativeName(field: NameField, values: string[]): RelativeDistinguishedName {
  const members = values.map((value) => attribute(field, value));
  if (members.length > 1) {
    const encoded = members.map((member) => ({ member, der: Buffer.from(AsnConvert.serialize(member)) }));
    encoded.sort((a, b) => Buffer.compare(a.der, b.der));
    return new RelativeDistinguishedName(encoded.map((entry) => entry.member));
  }
  return new RelativeDistinguishedName(members);
}

export function nameFromDistinguishedName(dn: DistinguishedName): Name {
  const rdns: RelativeDistinguishedName[] = [];
  for (const field of RDN_ORDER) {
    const values = valuesOf(dn, field);
    if (values.length > 0) rdns.push(relativeName(field, values));
  }
  return new Name(rdns);
}

/** The DER of the X.501 Name for `dn`. */
export function encodeName(dn: DistinguishedName): Buffer {
  return Buffer.from(AsnConvert.serialize(nameFromDistinguishedName(dn)));
}

/**
 * The record for a parsed Name: known attributes only (others are skipped; the caller keeps the
 * raw DER when it needs them). A repeated CN or serialNumber keeps the last, as Go's
 * pkix.Name.FillFromRDNSequence does.
 */
export function distinguishedNameOf(name: Name): DistinguishedName {
  const dn: DistinguishedName = {};
  for (const rdn of name) {
    for (const attr of rdn) {
      const field = FIELD_BY_OID.get(attr.type);
      if (field === undefined) continue;
      const value = attr.value.toString();
      if (field === 'commonName' || field === 'serialNumber') {
        dn[field] = value;
      } else {
        (dn[field] ??= []).push(value);
      }
    }
  }
  return dn;
}

/** The record for a Name given as DER. */
export function decodeName(der: Buffer): DistinguishedName {
  return distinguishedNameOf(AsnConvert.parse(der, Name));
}
