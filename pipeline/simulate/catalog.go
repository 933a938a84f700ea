package simulate

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/livepulse/livepulse/schemas"
)

// platform holds what differs between live-commerce platforms: how many streams run there,
// what is sold for how much, how often viewers buy and return, and how generously the platform
// rounds its displayed viewer count.
type platform struct {
	name         string
	streamWeight float64 // share of streams hosted on the platform
	priceMedian  float64 // median unit price, major units (CNY)
	priceSigma   float64 // log-normal spread of unit prices
	conversion   float64 // relative likelihood that a long-watching viewer buys
	refundRate   float64 // fraction of orders refunded (eventually)
	factorMin    float64 // displayed ÷ real concurrent viewers, for honest streams
	factorMax    float64
}

var platforms = [...]platform{
	{name: "taobao", streamWeight: 0.34, priceMedian: 139, priceSigma: 0.95, conversion: 1.3, refundRate: 0.10, factorMin: 1.00, factorMax: 1.08},
	{name: "douyin", streamWeight: 0.33, priceMedian: 79, priceSigma: 0.90, conversion: 1.0, refundRate: 0.14, factorMin: 1.05, factorMax: 1.30},
	{name: "kuaishou", streamWeight: 0.18, priceMedian: 49, priceSigma: 0.85, conversion: 1.1, refundRate: 0.15, factorMin: 1.05, factorMax: 1.25},
	{name: "tiktok", streamWeight: 0.10, priceMedian: 99, priceSigma: 0.90, conversion: 0.6, refundRate: 0.12, factorMin: 1.00, factorMax: 1.15},
	{name: "amazon", streamWeight: 0.05, priceMedian: 199, priceSigma: 1.00, conversion: 0.8, refundRate: 0.07, factorMin: 1.00, factorMax: 1.05},
}

const (
	numBrands                  = 16
	skusPerBrand               = 300
	minPrice     schemas.Money = 9_90
	maxPrice     schemas.Money = 2999_00
	// kolPopularityAlpha is the Pareto tail of KOL popularity: ~1.2 puts a handful of KOLs far
	// above the rest, as on real platforms. maxKOLPopularity keeps one KOL from owning the run.
	kolPopularityAlpha = 1.2
	maxKOLPopularity   = 60
	// mainBrandLoyalty is how often a KOL's stream sells the KOL's usual brand.
	mainBrandLoyalty = 0.7
)

var brandIDs = func() (ids [numBrands]string) {
	for i := range ids {
		ids[i] = "brand-" + string(appendPadded(nil, uint64(i), 2))
	}
	return ids
}()

// Refund reasons, drawn with the given weights: cancellations before shipping, returns after
// delivery, and partial refunds.
var (
	quickRefundReasons = []weighted[string]{
		{"changed_mind", 60}, {"duplicate_order", 15}, {"found_cheaper", 15}, {"wrong_option", 10},
	}
	refundReasons = []weighted[string]{
		{"not_as_described", 30}, {"size_or_fit", 25}, {"quality_issue", 20}, {"changed_mind", 12},
		{"damaged_in_transit", 8}, {"late_delivery", 5},
	}
	partialReasons = []weighted[string]{
		{"missing_item", 40}, {"price_adjustment", 35}, {"quality_issue", 25},
	}
	engageKinds = []weighted[schemas.EngageKind]{
		{schemas.EngageLike, 70}, {schemas.EngageComment, 20}, {schemas.EngageShare, 6}, {schemas.EngageFollow, 4},
	}
)

type weighted[T any] struct {
	v T
	w float64
}

// pick draws from items in proportion to their weights.
func pick[T any](r *rand.Rand, items []weighted[T]) T {
	total := 0.0
	for _, it := range items {
		total += it.w
	}
	x := r.Float64() * total
	for _, it := range items {
		if x < it.w {
			return it.v
		}
		x -= it.w
	}
	return items[len(items)-1].v
}

// kol is a host. Popular KOLs make popular streams; a KOL hosts one stream at a time, on one
// platform, usually for one brand.
type kol struct {
	index      int // in Generator.kols
	id         string
	plat       *platform
	brand      int
	popularity float64 // Pareto-distributed, ≥ 1
}

// newKOLs creates the host pool: half again as many KOLs as stream slots, so hosts rotate and
// some host several streams over a long run.
func newKOLs(r *rand.Rand, slots int) []*kol {
	kols := make([]*kol, slots+slots/2+2)
	for i := range kols {
		k := &kol{index: i, id: "kol-" + string(appendPadded(nil, uint64(i), 4))}
		x := r.Float64() * totalStreamWeight()
		for j := range platforms {
			if x < platforms[j].streamWeight || j == len(platforms)-1 {
				k.plat = &platforms[j]
				break
			}
			x -= platforms[j].streamWeight
		}
		k.brand = int(numBrands * math.Pow(r.Float64(), 1.7)) // a few brands dominate
		k.popularity = min(math.Pow(1-r.Float64(), -1/kolPopularityAlpha), maxKOLPopularity)
		kols[i] = k
	}
	return kols
}

func totalStreamWeight() float64 {
	t := 0.0
	for _, p := range platforms {
		t += p.streamWeight
	}
	return t
}

// lognormal draws exp(N(ln median, sigma²)).
func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// unitPrice draws a shelf price with the endings shops use (99.00, 89.90, 199.99).
func unitPrice(r *rand.Rand, p *platform) schemas.Money {
	yuan := lognormal(r, p.priceMedian, p.priceSigma)
	whole := schemas.Money(yuan) * 100
	var price schemas.Money
	switch x := r.Float64(); {
	case x < 0.45:
		price = whole
	case x < 0.75:
		price = whole - 10 // 89.90
	case x < 0.90:
		price = whole - 1 // 199.99
	default:
		price = whole + schemas.Money(r.IntN(100))
	}
	return min(max(price, minPrice), maxPrice)
}

// quantity is mostly 1, sometimes a few.
func quantity(r *rand.Rand) uint32 {
	switch x := r.Float64(); {
	case x < 0.82:
		return 1
	case x < 0.94:
		return 2
	case x < 0.98:
		return 3
	default:
		return 4 + uint32(r.IntN(3))
	}
}

// skuID draws one of a brand's SKUs, bestsellers first ("sku-07-0042").
func skuID(r *rand.Rand, brand int) string {
	n := int(skusPerBrand * math.Pow(r.Float64(), 2.5))
	b := append(make([]byte, 0, 12), "sku-"...)
	b = appendPadded(b, uint64(brand), 2)
	b = append(b, '-')
	return string(appendPadded(b, uint64(n), 4))
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(b []byte, n uint64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendUint(tmp[:0], n, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
