/**
 * The PKCS#11 constants this package uses (values from the PKCS#11 v2.40/v3.0 headers). Kept here
 * rather than read from pkcs11js so that v3.0 values it lacks (CKM_EDDSA, CKM_AES_KEY_WRAP_KWP)
 * sit beside the others.
 */
export const CKO_PUBLIC_KEY = 2;
export const CKO_PRIVATE_KEY = 3;
export const CKO_SECRET_KEY = 4;
export const CKO_CERTIFICATE = 1;
export const CKO_DATA = 0;

export const CKK_RSA = 0x00;
export const CKK_EC = 0x03;
export const CKK_GENERIC_SECRET = 0x10;
export const CKK_AES = 0x1f;
export const CKK_EC_EDWARDS = 0x40;

export const CKA_CLASS = 0x000;
export const CKA_TOKEN = 0x001;
export const CKA_PRIVATE = 0x002;
export const CKA_LABEL = 0x003;
export const CKA_VALUE = 0x011;
export const CKA_KEY_TYPE = 0x100;
export const CKA_ID = 0x102;
export const CKA_SENSITIVE = 0x103;
export const CKA_ENCRYPT = 0x104;
export const CKA_DECRYPT = 0x105;
export const CKA_WRAP = 0x106;
export const CKA_UNWRAP = 0x107;
export const CKA_SIGN = 0x108;
export const CKA_VERIFY = 0x10a;
export const CKA_MODULUS = 0x120;
export const CKA_MODULUS_BITS = 0x121;
export const CKA_PUBLIC_EXPONENT = 0x122;
export const CKA_VALUE_LEN = 0x161;
export const CKA_EXTRACTABLE = 0x162;
export const CKA_EC_PARAMS = 0x180;
export const CKA_EC_POINT = 0x181;
export const CKA_ALWAYS_AUTHENTICATE = 0x202;

export const CKM_RSA_PKCS_OAEP = 0x0009;
export const CKM_SHA_1 = 0x0220;
export const CKM_SHA256 = 0x0250;
export const CKM_ECDSA = 0x1041;
export const CKM_EDDSA = 0x1057;
export const CKM_AES_KEY_WRAP_PAD = 0x210a;
export const CKM_AES_KEY_WRAP_KWP = 0x210b;

export const CKG_MGF1_SHA1 = 1;
export const CKG_MGF1_SHA256 = 2;
export const CKZ_DATA_SPECIFIED = 1;
/** pkcs11js's tag for a CK_RSA_PKCS_OAEP_PARAMS parameter. */
export const CK_PARAMS_RSA_OAEP = 4;

export const CKU_USER = 1;
export const CKU_CONTEXT_SPECIFIC = 2;
export const CKF_SERIAL_SESSION = 0x4;
export const CKF_OS_LOCKING_OK = 0x2;

/** Token info flags. */
export const CKF_LOGIN_REQUIRED = 0x4;
export const CKF_USER_PIN_INITIALIZED = 0x8;
export const CKF_USER_PIN_FINAL_TRY = 0x20000;
export const CKF_USER_PIN_LOCKED = 0x40000;
