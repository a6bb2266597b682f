package storage

// sum is 71 lines long, one over the ratchet: caught.
func sum(n int) int { // planted: FuncLength
	total := 0
	total += n * 1
	total += n * 2
	total += n * 3
	total += n * 4
	total += n * 5
	total += n * 6
	total += n * 7
	total += n * 8
	total += n * 9
	total += n * 10
	total += n * 11
	total += n * 12
	total += n * 13
	total += n * 14
	total += n * 15
	total += n * 16
	total += n * 17
	total += n * 18
	total += n * 19
	total += n * 20
	total += n * 21
	total += n * 22
	total += n * 23
	total += n * 24
	total += n * 25
	total += n * 26
	total += n * 27
	total += n * 28
	total += n * 29
	total += n * 30
	total += n * 31
	total += n * 32
	total += n * 33
	total += n * 34
	total += n * 35
	total += n * 36
	total += n * 37
	total += n * 38
	total += n * 39
	total += n * 40
	total += n * 41
	total += n * 42
	total += n * 43
	total += n * 44
	total += n * 45
	total += n * 46
	total += n * 47
	total += n * 48
	total += n * 49
	total += n * 50
	total += n * 51
	total += n * 52
	total += n * 53
	total += n * 54
	total += n * 55
	total += n * 56
	total += n * 57
	total += n * 58
	total += n * 59
	total += n * 60
	total += n * 61
	total += n * 62
	total += n * 63
	total += n * 64
	total += n * 65
	total += n * 66
	total += n * 67
	return total
}

// apiName is a flat dispatch switch: exempt however long.
func apiName(key int) string {
	switch key {
	case 0:
		return "api0"
	case 1:
		return "api1"
	case 2:
		return "api2"
	case 3:
		return "api3"
	case 4:
		return "api4"
	case 5:
		return "api5"
	case 6:
		return "api6"
	case 7:
		return "api7"
	case 8:
		return "api8"
	case 9:
		return "api9"
	case 10:
		return "api10"
	case 11:
		return "api11"
	case 12:
		return "api12"
	case 13:
		return "api13"
	case 14:
		return "api14"
	case 15:
		return "api15"
	case 16:
		return "api16"
	case 17:
		return "api17"
	case 18:
		return "api18"
	case 19:
		return "api19"
	case 20:
		return "api20"
	case 21:
		return "api21"
	case 22:
		return "api22"
	case 23:
		return "api23"
	case 24:
		return "api24"
	case 25:
		return "api25"
	case 26:
		return "api26"
	case 27:
		return "api27"
	case 28:
		return "api28"
	case 29:
		return "api29"
	case 30:
		return "api30"
	case 31:
		return "api31"
	case 32:
		return "api32"
	case 33:
		return "api33"
	case 34:
		return "api34"
	case 35:
		return "api35"
	default:
		return "unknown"
	}
}

// crcTable returns a generated table.
//
//lint:ignore FuncLength fixture: generated data, proves the escape hatch suppresses
func crcTable() []int {
	return []int{
		0,
		1,
		2,
		3,
		4,
		5,
		6,
		7,
		8,
		9,
		10,
		11,
		12,
		13,
		14,
		15,
		16,
		17,
		18,
		19,
		20,
		21,
		22,
		23,
		24,
		25,
		26,
		27,
		28,
		29,
		30,
		31,
		32,
		33,
		34,
		35,
		36,
		37,
		38,
		39,
		40,
		41,
		42,
		43,
		44,
		45,
		46,
		47,
		48,
		49,
		50,
		51,
		52,
		53,
		54,
		55,
		56,
		57,
		58,
		59,
		60,
		61,
		62,
		63,
		64,
		65,
		66,
		67,
		68,
		69,
	}
}
