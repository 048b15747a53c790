"""Synthetic music-prompt text: the tokenizer's training corpus and the test prompts.

Everything here is plain Python (no torch) and deterministic for a given seed, so the
tokenizer fixtures can be rebuilt on any machine.
"""

import random

GENRES = [
    "rock", "pop", "jazz", "blues", "funk", "soul", "disco", "techno", "house", "trance",
    "ambient", "hip hop", "trap", "drum and bass", "dubstep", "reggae", "ska", "punk",
    "metal", "heavy metal", "death metal", "folk", "country", "bluegrass", "classical",
    "baroque", "orchestral", "cinematic", "lofi", "lo-fi", "synthwave", "vaporwave",
    "chiptune", "electro", "edm", "grunge", "indie", "shoegaze", "bossa nova", "samba",
    "salsa", "tango", "flamenco", "afrobeat", "k-pop", "j-pop", "city pop", "gospel",
    "r&b", "new wave", "post-rock", "trip hop", "breakbeat", "garage", "minimal",
]
INSTRUMENTS = [
    "guitar", "electric guitar", "acoustic guitar", "bass", "bass guitar", "drums",
    "piano", "electric piano", "rhodes", "organ", "synth", "synthesizer", "pads",
    "strings", "violin", "viola", "cello", "double bass", "trumpet", "trombone",
    "saxophone", "flute", "clarinet", "oboe", "harp", "marimba", "vibraphone",
    "xylophone", "glockenspiel", "choir", "vocals", "808", "909", "tabla", "sitar",
    "koto", "shamisen", "bagpipes", "accordion", "banjo", "mandolin", "ukulele",
    "congas", "bongos", "hand claps", "shakers", "tambourine", "cowbell", "harpsichord",
]
MOODS = [
    "happy", "sad", "melancholic", "uplifting", "dark", "epic", "chill", "relaxing",
    "energetic", "aggressive", "dreamy", "nostalgic", "romantic", "mysterious",
    "playful", "calm", "intense", "groovy", "hypnotic", "warm", "bright", "moody",
    "euphoric", "peaceful", "tense", "eerie", "joyful", "bittersweet",
]
ADJECTIVES = [
    "loud", "soft", "heavy", "light", "fast", "slow", "distorted", "clean", "punchy",
    "lush", "sparse", "driving", "catchy", "minimal", "layered", "gritty", "smooth",
    "crunchy", "airy", "deep", "fat", "thin", "muted", "reverberant", "dry",
]
KEYS = [
    "C major", "C minor", "D major", "D minor", "E major", "E minor", "F major",
    "F minor", "G major", "G minor", "A major", "A minor", "B major", "B minor",
    "C# minor", "F# major", "Bb major", "Eb major", "Ab minor", "Db major",
]
DECADES = ["50s", "60s", "70s", "80s", "90s", "2000s", "2010s", "1960s", "1970s", "1980s", "1990s"]
PLACES = [
    "a rainy night", "the beach", "a road trip", "a nightclub", "a coffee shop",
    "a video game", "a movie trailer", "a space station", "the mountains", "the city",
    "a sunset", "a workout", "studying", "a wedding", "a festival",
]
PRODUCTION = [
    "sidechain compression", "tape saturation", "vinyl crackle", "wide stereo", "mono mix",
    "gated reverb", "spring reverb", "plate reverb", "ping-pong delay", "chorus effect",
    "phaser", "flanger", "wah pedal", "fuzz pedal", "overdrive", "bitcrusher", "low-pass filter",
    "high-pass sweep", "arpeggiator", "sequencer", "drum machine", "sampler", "field recordings",
    "live recording", "studio quality", "bedroom production", "analog warmth", "digital glitches",
    "four-on-the-floor kick", "syncopated hi-hats", "swung sixteenths", "triplet feel",
    "polyrhythms", "call and response", "key change", "modulation", "crescendo", "breakdown",
    "build-up", "drop", "bridge", "chorus", "verse", "intro", "outro", "fade out", "riff",
    "hook", "counter melody", "walking bass", "ostinato", "pedal tone", "power chords",
    "open chords", "suspended chords", "seventh chords", "pentatonic scale", "dorian mode",
    "mixolydian", "phrygian", "harmonic minor", "chromatic runs", "glissando", "pizzicato",
    "staccato", "legato", "tremolo", "vibrato", "falsetto", "harmonies", "whispered vocals",
    "spoken word", "rap verses", "scat singing", "yodeling", "throat singing", "beatboxing",
]
SCENES = [
    "thunderstorm", "forest", "desert", "ocean waves", "neon lights", "midnight drive",
    "summer afternoon", "winter morning", "autumn leaves", "spring rain", "underwater cave",
    "haunted house", "medieval tavern", "royal court", "cyberpunk alley", "jungle temple",
    "arctic tundra", "volcano", "starry sky", "abandoned factory", "carnival", "rooftop party",
    "lonely highway", "train station", "airport lounge", "hotel lobby", "elevator",
    "boxing match", "car chase", "heist", "romantic dinner", "graduation", "funeral",
    "birthday party", "sunrise yoga", "meditation", "boss battle", "victory fanfare",
    "title screen", "credits roll", "documentary", "commercial", "podcast intro", "trailer",
]
TEMPO_WORDS = ["slow", "mid-tempo", "uptempo", "fast", "laid back", "half-time", "double-time"]

# Non-English fragments so that non-ASCII pieces exist in the vocabulary.
FOREIGN = [
    "café", "naïve", "déjà vu", "señor", "música electrónica", "canción de cuna",
    "chanson française", "à l'ancienne", "été", "mélancolique", "fête", "cœur",
    "garçon", "très doux", "mélodie", "rêverie", "Straße", "Düsseldorf", "Klavier",
    "fröhlich", "Gemütlichkeit", "Schlagzeug", "groß", "Mädchen", "über", "schön",
    "Köln", "Müller", "São Paulo", "coração", "ação", "música brasileira", "año",
    "pequeño", "niño", "Zürich", "Ångström", "smørrebrød", "Øresund", "Ærø",
    "ピアノ", "ギター", "ドラム", "ゆっくり", "おんがく", "たのしい", "さくら", "うた",
    "リズム", "メロディー", "ベース", "シンセ", "ロック", "ジャズ", "ポップ",
    "音楽", "東京", "夜",
    "Москва", "музыка", "гитара", "ночь",
    "μουσική", "κιθάρα", "Αθήνα",
    "İstanbul", "şarkı", "ağır", "müzik",
    "Kraków", "muzyka", "łódź", "Dvořák", "Smetana", "Bartók", "Sibelius", "Grieg",
    "Beethoven", "Mozart", "Debussy", "Satie", "Chopin", "Händel", "Schönberg", "Fauré",
    "Saint-Saëns", "Mendelssohn", "Brahms", "Tchaikovsky", "Rachmaninoff", "Stravinsky",
    "Piazzolla", "Villa-Lobos", "Jobim", "Morricone", "Vangelis", "Sakamoto", "Hisaishi",
    "canzone italiana", "pianoforte", "allegro", "adagio", "andante", "presto", "fortissimo",
    "pianissimo", "rubato", "da capo", "fermata", "Lied", "Sehnsucht", "Fernweh", "Weltschmerz",
    "Wanderlust", "Zeitgeist", "Heimat", "Nachtmusik", "Tanz", "Walzer", "Marsch", "Volksmusik",
    "bal musette", "java", "valse", "chanteuse", "guinguette", "cabaret", "opéra", "ballet",
    "saudade", "fado", "forró", "maracatu", "cumbia", "merengue", "bachata", "ranchera",
    "mariachi", "corrido", "huapango", "son jarocho", "vallenato", "joropo", "candombe",
    "ぴかぴか", "きらきら", "どきどき", "わくわく", "のんびり", "しずか", "つよい", "やさしい",
    "カラオケ", "アニメ", "ゲーム", "エレクトロ", "オーケストラ", "バイオリン", "トランペット",
]
RARE = [
    # Rare characters: seen a handful of times only, so the 0.9995 coverage may drop some.
    "ǅ", "ꙮ", "ᚠ", "ᛟ", "ⴰ", "ऋ", "ঌ", "ฃ", "ཀ", "ጀ", "ᐁ", "ᓀ", "ꆈ", "ꌠ", "ⵣ",
]
FULLWIDTH = ["ＲＯＣＫ", "ｊａｚｚ", "１２０ ｂｐｍ", "ＢＰＭ", "８０ｓ", "ｐｉａｎｏ"]

TEMPLATES = [
    "{mood} {genre} with {instr} and {instr2}",
    "{decade} {genre} song with {adj} {instr} and {adj2} {instr2}",
    "{genre} track in {key} at {bpm} bpm",
    "{adj} {instr} over a {tempo} {genre} beat, {bpm} BPM",
    "a {mood} {genre} tune for {place}",
    "{mood}, {mood2} {genre}; {instr}, {instr2}, {instr3}",
    "{decade} inspired {genre} with {adj} {instr}",
    "{tempo} {genre} in {key}, {mood} {instr} melody",
    "{bpm}bpm {genre} loop, {instr} + {instr2}",
    "{genre} / {genre2} fusion with {mood} {instr}",
    "Instrumental {genre} ({decade}), {instr} solo, {bpm} BPM, key of {key}",
    "{mood} {instr} ballad, {foreign}",
    "{foreign} {genre} with {instr}",
    "{genre}: {foreign}, {foreign2}",
    "{instr} and {instr2} playing a {mood} {genre} theme for {place}",
    "{genre} {bpm} bpm {key} {mood} {adj} {instr}",
    "{genre} with {prod} and {prod2}, {mood} {scene}",
    "music for a {scene}: {adj} {instr}, {prod}",
    "{scene} soundtrack, {genre}, {prod}, {bpm} bpm",
    "{mood} {instr} with {prod} in a {scene}",
]


def _pick(rng, items):
    return items[rng.randrange(len(items))]


def random_prompt(rng, foreign_weight=0.25):
    """One synthetic prompt drawn from the templates above."""
    template = _pick(rng, TEMPLATES)
    fields = {
        "genre": _pick(rng, GENRES), "genre2": _pick(rng, GENRES),
        "instr": _pick(rng, INSTRUMENTS), "instr2": _pick(rng, INSTRUMENTS),
        "instr3": _pick(rng, INSTRUMENTS), "mood": _pick(rng, MOODS),
        "mood2": _pick(rng, MOODS), "adj": _pick(rng, ADJECTIVES),
        "adj2": _pick(rng, ADJECTIVES), "key": _pick(rng, KEYS),
        "decade": _pick(rng, DECADES), "place": _pick(rng, PLACES),
        "tempo": _pick(rng, TEMPO_WORDS), "bpm": str(rng.randrange(60, 181)),
        "foreign": _pick(rng, FOREIGN), "foreign2": _pick(rng, FOREIGN),
        "prod": _pick(rng, PRODUCTION), "prod2": _pick(rng, PRODUCTION),
        "scene": _pick(rng, SCENES),
    }
    text = template.format(**fields)
    if rng.random() < foreign_weight:
        text += " " + _pick(rng, FOREIGN)
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    return text


def training_corpus(seed, n_lines=4000):
    """Lines to train the SentencePiece model on."""
    rng = random.Random(seed)
    lines = [random_prompt(rng) for _ in range(n_lines)]
    # Every foreign word at least a few times, rare characters once or twice, some
    # full-width forms (they normalise to ASCII before training).
    for word in FOREIGN:
        for _ in range(4):
            lines.append(f"{word} {_pick(rng, GENRES)} {_pick(rng, INSTRUMENTS)}")
    for ch in RARE:
        lines.append(f"{_pick(rng, MOODS)} {ch} {_pick(rng, GENRES)}")
    for word in FULLWIDTH:
        lines.append(f"{word} {_pick(rng, GENRES)}")
    rng.shuffle(lines)
    return lines


def edge_prompts():
    """Hand-written prompts that exercise normalisation, splitting and unknown pieces."""
    p = []
    # Plain ASCII music prompts.
    p += [
        "90s rock song with loud guitars and heavy drums",
        "80s pop track with bassy drums and synth",
        "Club techno",
        "80s music",
        "lofi hip hop beat to study to",
        "A cheerful country song with acoustic guitars",
        "epic orchestral soundtrack with choir, 120 bpm, D minor",
        "jazz",
        "a",
        "bpm",
        "120bpm",
        "Synthwave, 80s, retro, neon, 110 BPM, A minor, arpeggiated synths",
        "ambient drone with field recordings of rain and distant thunder",
        "Funky bass line + slap guitar = groove!",
        "Heavy metal with double-kick drums (180 BPM) and shredding guitar solos",
    ]
    # Non-ASCII letters.
    p += [
        "café jazz", "naïve folk melody", "déjà vu", "chanson française à l'ancienne",
        "Straße", "STRASSE vs Straße", "groß und fröhlich", "Gemütlichkeit im Düsseldorf",
        "ẞ capital sharp s", "İstanbul şarkı", "ıi İI", "Dvořák symphony", "Øresund smørrebrød",
        "μουσική κιθάρα", "ΑΘΗΝΑ Αθήνα", "Москва ночь гитара", "музыка", "音楽 東京 夜",
        "中文音乐 流行歌曲", "한국 음악 케이팝", "ピアノ と ギター", "ゆっくり たのしい うた",
        "ｶﾀｶﾅ ﾋﾟｱﾉ ｷﾞﾀｰ", "ﾊﾟﾝｸ ﾛｯｸ", "ｳﾞｧｲｵﾘﾝ", "ᚠᛟ runes", "ꙮ", "ǅemal",
        "Ελληνικά ελληνικά", "עברית מוזיקה", "موسيقى عربية", "हिंदी संगीत", "ไทย ดนตรี",
        "Ç ç Ş ş Ğ ğ", "Å å Ä ä Ö ö", "ÿ Ÿ œ Œ æ Æ", "ñ Ñ", "ł Ł ż Ż", "ő ű Ő Ű",
    ]
    # Full-width ASCII, ligatures, Roman numerals, superscripts, fractions, letterlike forms.
    p += [
        "ＡＢＣ１２３", "ＲＯＣＫ ｍｕｓｉｃ １２０ ｂｐｍ", "ｊａｚｚ！？", "（ｆｕｌｌ－ｗｉｄｔｈ）",
        "ﬁne ﬂute ﬀ ﬃ ﬄ ﬅ ﬆ", "Symphony Ⅻ and Ⅳ, ⅲ ⅶ", "Ⅰ Ⅱ Ⅲ Ⅳ Ⅴ Ⅵ Ⅶ Ⅷ Ⅸ Ⅹ Ⅺ Ⅻ",
        "x² + y³ = z¹⁰", "½ time, ¼ note, ¾ waltz, ⅞ groove", "H₂O ambient", "℃ ℉ № ™ ℡ ㎑ ㎒",
        "① ② ③ ⑩ ⑳", "⒈ ⒉ ⒊", "㈱ ㍿ ㌔", "ℌ ℍ ℑ 𝔄 𝕏 𝓜", "ｱｲｳｴｵ ﾞﾟ", "〜～", "…‥",
        "µ vs μ", "Å vs Å", "Ω vs Ω", "K vs K", "ǆ Ǆ ǅ", "ſ long s", "ﹰﹱ", "ﷺ", "ﷻ",
    ]
    # Emoji: plain, ZWJ sequences, skin tones, flags, keycaps, variation selectors.
    p += [
        "🎸 rock", "🎹🎷🎺🥁", "party 🎉🎉🎉 music", "👩‍🎤 singer", "👨‍👩‍👧‍👦 family song",
        "👍🏽 thumbs up 👋🏿", "🇯🇵 🇩🇪 🇫🇷 🇺🇸 flags", "1️⃣ 2️⃣ #️⃣", "❤️ love songs ♥",
        "🏳️‍🌈 pride anthem", "☕ coffee shop", "🎵♪♫♬", "☺︎ ☺️", "😀😃😄😁😆😅🤣😂",
    ]
    # Combining marks and decomposed forms.
    p += [
        "cafe\u0301", "e\u0301te\u0301 me\u0301lancolique", "n\u0303", "a\u0308\u0304",
        "Z\u0351\u0364\u0352a\u0358l\u0360g\u0361o\u0362", "\u0301 leading combining mark",
        "\u1100\u1161\u11a8 jamo", "\u0915\u094d\u0937", "o\u0308 vs \u00f6",
    ]
    # Spaces of every kind, control characters, line breaks.
    p += [
        "", " ", "  ", "\t", "\n", "\r\n", "   leading spaces", "trailing spaces   ",
        "  both  ", "repeated     spaces     between", "tab\tseparated\tvalues",
        "line one\nline two", "crlf line\r\nnext line", "cr only\rnext", "\n\nnewlines\n\n",
        "nbsp\u00a0between", "narrow\u202fnbsp", "em\u2003space", "en\u2002space",
        "thin\u2009space", "hair\u200aspace", "ideographic\u3000space", "figure\u2007space",
        "zero\u200bwidth", "zwj\u200dword", "zwnj\u200cword", "word\u2060joiner",
        "bom\ufeffinside", "\ufeffleading bom", "soft\u00adhyphen", "line\u2028separator",
        "para\u2029separator", "next\u0085line", "ogham\u1680space", "mongolian\u180evowel",
        "bell\u0007char", "null\u0000char", "esc\u001b[0m", "del\u007fchar", "vt\u000bff\u000c",
        "c1\u0080\u009fcontrols", "\u0001\u0002\u0003", "mixed \t\n\r\u00a0\u3000 whitespace",
    ]
    # Unknown pieces (characters outside the vocabulary) and fused unknowns.
    p += [
        "𝄞 treble clef", "𝄞𝄢𝅘𝅥𝅮", "ᚠᛟᚠᛟᚠᛟ", "ꆈꌠ ꆈꌠ", "☃☃☃ snow", "⌘⌥⇧", "∮∯∰ integrals",
        "🜁🜂🜃🜄", "Ⓐⓑⓒ", "ⵣⴰ", "ጀጀ", "ᐁᓀ", "unknown 𓀀𓀁𓀂 hieroglyphs", "𠀀𠀁 ext-b",
        "\ue000 private use", "\U000f0000 plane 15",
    ]
    # Literal special-token strings in text.
    p += [
        "</s>", "<pad>", "<unk>", "<s>", "<extra_id_3>", "<extra_id_0>", "<extra_id_99>",
        "<extra_id_100>", "rock </s> jazz", "a<pad>b", "x <unk> y", "<extra_id_3><extra_id_4>",
        "before</s>after", "</s></s>", "< /s>", "<EXTRA_ID_3>", "<extra_id_-1>",
    ]
    # Digits and punctuation runs.
    p += [
        "0123456789", "120", "1,000,000", "3.14159", "1/4 note", "4/4 time", "6/8", "120-140 bpm",
        "!!!", "???", "...", "---", "!?!?!?", "(((nested)))", "[brackets] {braces}",
        "\"quoted\" 'single'", "“curly” ‘quotes’", "a—b–c", "#hashtag @mention $100 50%",
        "C#m7b5 Bbmaj9 F#dim", "***", "~~~~", "^_^", "<<>>", "a&b|c\\d", "__init__",
        "http://example.com/song?id=42", "e-mail@example.com", "12:34:56", "2024-01-01",
    ]
    # Very long prompts.
    long_words = " ".join(["epic orchestral soundtrack with huge drums and soaring strings"] * 40)
    p += [long_words, "a" * 2500, "ab " * 700, "🎸" * 600]
    return p


def test_prompts(seed, n_random=300):
    """The prompts recorded in prompts.jsonl: hand-written edge cases, then random ones."""
    rng = random.Random(seed)
    prompts = edge_prompts() + list(MODEL_PROMPTS)
    prompts += [random_prompt(rng, foreign_weight=0.4) for _ in range(n_random)]
    # Random prompts with random Unicode noise inserted.
    noise = ["\u00a0", "\u3000", "  ", "\t", "ﬁ", "½", "Ⅻ", "ｘ", "é", "e\u0301", "🎵", "ß", "İ", "𝄞"]
    for _ in range(60):
        words = random_prompt(rng).split(" ")
        i = rng.randrange(len(words) + 1)
        words.insert(i, _pick(rng, noise))
        prompts.append(" ".join(words))
    return prompts


# Prompts for the model reference outputs: short, non-ASCII, ordinary, long (~60 tokens).
MODEL_PROMPTS = [
    "80s pop track with bassy drums and synth",
    "jazz",
    "Chanson française mélancolique, Klavier und Gemütlichkeit ピアノ",
    (
        "A long cinematic orchestral piece: soft strings and a lonely piano, "
        "growing into a huge epic theme with brass, choir and thundering drums, 90 bpm"
    ),
]
