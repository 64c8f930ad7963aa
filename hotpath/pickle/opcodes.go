package pickle

// Opcodes of Python's pickle machine, named as in CPython's Lib/pickle.py and
// PROTOCOL.md. Only those the decoder accepts are listed; every other byte in
// opcode position rejects the frame (CauseOpcode).
const (
	// Protocol 0: text arguments ending in '\n'.
	opMark    = '(' // push a mark
	opStop    = '.' // end of pickle; the top of the stack is the result
	opInt     = 'I' // decimal int; "I01\n" / "I00\n" are True / False
	opLong    = 'L' // decimal int with an optional trailing 'L'
	opString  = 'S' // quoted, backslash-escaped byte string (Python 2 str)
	opUnicode = 'V' // raw-unicode-escape text
	opFloat   = 'F' // repr of a float
	opNone    = 'N' // None
	opAppend  = 'a' // list.append(pop())
	opList    = 'l' // list of the items above the mark
	opTuple   = 't' // tuple of the items above the mark
	opPut     = 'p' // memo[decimal] = top
	opGet     = 'g' // push memo[decimal]

	// Protocol 1: binary arguments, little-endian.
	opBinInt         = 'J' // int32
	opBinInt1        = 'K' // uint8
	opBinInt2        = 'M' // uint16
	opBinString      = 'T' // int32 length, bytes (Python 2 str)
	opShortBinString = 'U' // uint8 length, bytes (Python 2 str)
	opBinUnicode     = 'X' // uint32 length, UTF-8
	opBinFloat       = 'G' // float64, big-endian
	opEmptyList      = ']' // push []
	opAppends        = 'e' // list.extend(items above the mark)
	opEmptyTuple     = ')' // push ()
	opBinPut         = 'q' // memo[uint8] = top
	opLongBinPut     = 'r' // memo[uint32] = top
	opBinGet         = 'h' // push memo[uint8]
	opLongBinGet     = 'j' // push memo[uint32]

	// Protocol 2.
	opProto    = 0x80 // uint8 protocol version
	opTuple1   = 0x85 // (pop(),)
	opTuple2   = 0x86 // (pop(-2), pop())
	opTuple3   = 0x87 // (pop(-3), pop(-2), pop())
	opNewTrue  = 0x88 // True
	opNewFalse = 0x89 // False
	opLong1    = 0x8a // uint8 length, two's complement little-endian int
	opLong4    = 0x8b // int32 length, two's complement little-endian int

	// Protocol 3.
	opBinBytes      = 'B' // uint32 length, bytes
	opShortBinBytes = 'C' // uint8 length, bytes

	// Protocol 4.
	opShortBinUnicode = 0x8c // uint8 length, UTF-8
	opBinUnicode8     = 0x8d // uint64 length, UTF-8
	opBinBytes8       = 0x8e // uint64 length, bytes
	opMemoize         = 0x94 // memo[len(memo)] = top
	opFrame           = 0x95 // uint64 length of the next chunk: a read-ahead hint
)

// maxProtocol is the highest PROTO version accepted, as in CPython 3.8+
// (pickle.HIGHEST_PROTOCOL). A protocol 5 pickle of carbon's list of tuples
// uses only protocol 4 opcodes.
const maxProtocol = 5

// opNames names the opcodes that reject a frame, for error messages.
var opNames = [256]string{
	'(': "MARK", '.': "STOP", '0': "POP", '1': "POP_MARK", '2': "DUP",
	'F': "FLOAT", 'I': "INT", 'J': "BININT", 'K': "BININT1", 'L': "LONG",
	'M': "BININT2", 'N': "NONE", 'P': "PERSID", 'Q': "BINPERSID", 'R': "REDUCE",
	'S': "STRING", 'T': "BINSTRING", 'U': "SHORT_BINSTRING", 'V': "UNICODE",
	'X': "BINUNICODE", 'a': "APPEND", 'b': "BUILD", 'c': "GLOBAL", 'd': "DICT",
	'}': "EMPTY_DICT", 'e': "APPENDS", 'g': "GET", 'h': "BINGET", 'i': "INST",
	'j': "LONG_BINGET", 'l': "LIST", ']': "EMPTY_LIST", 'o': "OBJ", 'p': "PUT",
	'q': "BINPUT", 'r': "LONG_BINPUT", 's': "SETITEM", 't': "TUPLE",
	')': "EMPTY_TUPLE", 'u': "SETITEMS", 'G': "BINFLOAT",
	0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
	0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE",
	0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4",
	'B': "BINBYTES", 'C': "SHORT_BINBYTES",
	0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x8e: "BINBYTES8",
	0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
	0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME",
	0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
}
