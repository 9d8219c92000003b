using EtlStream.Formats;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using EtlStream.Memory;

namespace EtlStream.Formats.Csv;

/// <summary>
/// Reads RFC 4180 CSV from a stream straight into Arrow UTF-8 column buffers, one <see cref="TextBatch"/> at a
/// time. Quoted fields may hold delimiters, doubled quotes and line breaks; records end with LF, CRLF or CR.
/// Memory is bounded by one batch (<see cref="CsvOptions.BatchBytes"/>, or one record when a record alone is larger)
/// plus the longest record (<see cref="CsvOptions.MaxRecordBytes"/>).
/// </summary>
public sealed class CsvArrowParser : IRecordReader
{
    private const int InitialBufferBytes = 1024 * 1024;

    /// <summary>Value bytes per cell assumed before the first batch shows the real ones: sizes a wide file's first batch.</summary>
    private const int CellValueEstimate = 8;

    /// <summary>A column's values buffer starts at most this big; a wide file's columns start smaller.</summary>
    private const int MaxInitialValueBytes = 64 * 1024;

    private Stream _stream;
    private Stream? _transcoder;
    private Encoding? _encoding;
    private readonly string _source;
    private readonly CsvOptions _options;
    private readonly byte _delimiter;
    private readonly byte _quote;
    private readonly SearchValues<byte> _fieldEnds;
    private readonly byte[][] _nullTokens;
    private readonly bool _emptyIsNull;

    private byte[] _buffer;
    private int _pos;
    private int _end;
    private bool _eof;
    private bool _started;
    private long _line = 1;
    private long _consumedBytes;

    private ColumnBuilder[] _columns = [];
    private long[] _lines = [];
    private int _rows;
    private long _batchBytes;
    private IReadOnlyList<string>? _header;

    // Batch bounds: rows the column buffers are rented for, Arrow bytes a row costs besides its values, and whether
    // the next record would have taken the batch past BatchBytes (the batch is then closed without it).
    private int _rowCap = 1;
    private long _rowBytes;
    private bool _full;

    public CsvArrowParser(Stream stream, string source, CsvOptions? options = null)
    {
        _stream = stream;
        _source = source;
        _options = options ?? CsvOptions.Default;
        var errors = _options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        _delimiter = _options.Delimiter;
        _quote = _options.Quote;
        _fieldEnds = SearchValues.Create([_delimiter, (byte)'\n', (byte)'\r']);
        var tokens = new List<byte[]>();
        foreach (var t in _options.NullTokens)
        {
            if (t.Length == 0)
            {
                _emptyIsNull = true;
            }
            else
            {
                tokens.Add(Encoding.UTF8.GetBytes(t));
            }
        }

        _nullTokens = [.. tokens];
        _buffer = BufferPool.Rent(InitialBufferBytes);
    }

    /// <summary>The column names: the header record, or <c>column1</c>… when the file has none. Null before the first read.</summary>
    public IReadOnlyList<string>? Header => _header;

    /// <summary>
    /// When the first record (the header, or the first row) is one field holding a tab, <c>;</c> or <c>|</c>: that
    /// character, likely the file's real delimiter. Every later row must then be one field too, so a file read with
    /// the wrong delimiter would otherwise load silently into one column.
    /// </summary>
    public byte? OtherDelimiter { get; private set; }

    /// <summary>Uncompressed bytes parsed so far.</summary>
    public long BytesConsumed => _consumedBytes;

    /// <summary>The likely real delimiter (<see cref="OtherDelimiter"/>), as a warning to the user.</summary>
    public IReadOnlyList<string> HeaderWarnings => OtherDelimiter is { } other
        ? [$"every row has one column, but the {(_options.HasHeader ? "header" : "first row")} holds {DelimiterNames.Plural(other)}: use --delimiter {DelimiterNames.Option(other)} (or csv.delimiter in the spec)"]
        : [];

    /// <summary>Reads the header (when there is one) without reading records; returns the column names.</summary>
    public async ValueTask<IReadOnlyList<string>> ReadHeaderAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        return _header ?? [];
    }

    /// <summary>
    /// Arrow bytes a row of <paramref name="columns"/> columns takes besides its values: its line number, an offset
    /// per column and (rounded up to a byte) a validity bit per column; with one more row's worth it bounds a batch.
    /// </summary>
    public static long FixedRowBytes(int columns) => sizeof(long) + ((long)columns * (sizeof(int) + 1));

    /// <summary>Rows the next batch may hold at most: <see cref="CsvOptions.BatchRows"/>, lowered for wide or long records.</summary>
    public int RowCap => _rowCap;

    /// <summary>
    /// The next batch of at most <see cref="CsvOptions.BatchRows"/> records and at most
    /// <see cref="CsvOptions.BatchBytes"/> Arrow bytes (one record when it alone is larger), or null at the end of the input.
    /// </summary>
    public async ValueTask<TextBatch?> ReadBatchAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        if (_header is null || _columns.Length == 0)
        {
            return null;
        }

        while (_rows < _rowCap && !_full)
        {
            if (_pos >= _end)
            {
                if (_eof)
                {
                    break;
                }

                await FillAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!ParseRecords(_rowCap))
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return _rows == 0 ? null : TakeBatch();
    }

    public void Dispose()
    {
        foreach (var c in _columns)
        {
            c.Release();
        }

        _columns = [];
        _transcoder?.Dispose();
        if (_lines.Length > 0)
        {
            BufferPool.Longs.Return(_lines);
            _lines = [];
        }

        if (_buffer.Length > 0)
        {
            BufferPool.Return(_buffer);
            _buffer = [];
        }
    }

    private async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        while (_end < CsvTextEncoding.PeekBytes && !_eof)
        {
            await FillAsync(cancellationToken).ConfigureAwait(false);
        }

        // Told once from the first bytes: UTF-8 input goes on as it is, other encodings through a transcoder.
        var encoding = CsvTextEncoding.Detect(_buffer.AsSpan(_pos, _end - _pos), _source, _options.Encoding, out var bom);
        if (encoding is null)
        {
            _pos += bom;
            _consumedBytes += bom;
        }
        else
        {
            _encoding = encoding;
            _stream = _transcoder = CsvTextEncoding.ToUtf8(_buffer.AsSpan(_pos + bom, _end - _pos - bom).ToArray(), _stream, encoding);
            (_pos, _end, _eof) = (0, 0, false);
        }

        // The first record is read with a growing column set: it fixes the column count.
        _columns = [];
        _lines = BufferPool.Longs.Rent(1);
        while (_rows == 0)
        {
            if (_pos >= _end)
            {
                if (_eof)
                {
                    return; // no record at all: no header, no rows
                }

                await FillAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!ParseRecords(1, firstRecord: true))
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        if (_columns.Length == 1)
        {
            var first = _columns[0].ValueSpan(0);
            foreach (var candidate in "\t;|"u8)
            {
                if (candidate != _delimiter && first.Contains(candidate))
                {
                    OtherDelimiter = candidate;
                    break;
                }
            }
        }

        var names = new string[_columns.Length];
        for (var c = 0; c < names.Length; c++)
        {
            names[c] = _options.HasHeader
                ? Encoding.UTF8.GetString(_columns[c].ValueSpan(0))
                : $"column{c + 1}";
        }

        _header = names;

        // Sized before the first batch from the column count (a 2,048-column file gets far fewer than batch_rows);
        // every later batch is sized from the bytes per row the previous one really had.
        _rowBytes = FixedRowBytes(_columns.Length);
        SetRowCap(_options.BatchBytes / (_rowBytes + ((long)_columns.Length * CellValueEstimate)));
        foreach (var c in _columns)
        {
            c.EnsureValueBytes((int)Math.Min((long)_rowCap * CellValueEstimate, MaxInitialValueBytes));
        }
        if (_options.HasHeader)
        {
            foreach (var c in _columns)
            {
                c.Reset();
            }

            _rows = 0;
            _batchBytes = 0;
        }
    }

    /// <summary>
    /// Sets the rows the next batch's buffers hold, rounded down to a power of two: the exact-size offsets pool keeps
    /// a list per size, so a handful of sizes instead of one per batch.
    /// </summary>
    private void SetRowCap(long rows)
    {
        var cap = rows >= _options.BatchRows ? _options.BatchRows : (int)Math.Max(1, System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)rows + 1) / 2);
        _rowCap = Math.Max(cap, _rows);
        foreach (var c in _columns)
        {
            c.EnsureRows(_rowCap, _rows);
        }

        if (_lines.Length < _rowCap)
        {
            var lines = BufferPool.Longs.Rent(_rowCap);
            _lines.AsSpan(0, _rows).CopyTo(lines);
            BufferPool.Longs.Return(_lines);
            _lines = lines;
        }
    }

    /// <summary>Moves unread bytes to the front of the buffer, grows it when one record fills it, and reads more.</summary>
    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_eof)
        {
            return;
        }

        var unread = _end - _pos;
        if (_pos > 0 && unread > 0)
        {
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, unread);
        }

        _pos = 0;
        _end = unread;
        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= _options.MaxRecordBytes)
            {
                throw new CsvFormatException(_source, _line, 1, $"record is longer than max_record_bytes ({_options.MaxRecordBytes:N0} bytes)");
            }

            var bigger = BufferPool.Rent((int)Math.Min((long)_buffer.Length * 2, _options.MaxRecordBytes));
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
            BufferPool.Return(_buffer);
            _buffer = bigger;
        }

        int read;
        try
        {
            read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        }
        catch (DecoderFallbackException) when (_encoding is not null)
        {
            throw new CsvFormatException(_source, _line, 1, $"not valid {_encoding.WebName.ToUpperInvariant()} text at or after this line (an unpaired surrogate or a cut last character)");
        }
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }

    /// <summary>
    /// Parses whole records from the buffer until the batch holds <paramref name="maxRows"/> rows. Returns false
    /// when the buffer ends inside a record and more input is needed; that record is rolled back and re-parsed.
    /// </summary>
    private bool ParseRecords(int maxRows, bool firstRecord = false)
    {
        var span = _buffer.AsSpan(0, _end);
        var pos = _pos;
        var needMore = false;
        while (_rows < maxRows && pos < span.Length)
        {
            var recordStart = pos;

            // A blank line holds no record; skip it.
            var b0 = span[pos];
            if (b0 == (byte)'\n')
            {
                pos++;
                _line++;
                continue;
            }

            if (b0 == (byte)'\r')
            {
                if (pos + 1 >= span.Length && !_eof)
                {
                    needMore = true;
                    break;
                }

                pos += pos + 1 < span.Length && span[pos + 1] == (byte)'\n' ? 2 : 1;
                _line++;
                continue;
            }

            var status = ParseRecord(span, ref pos, firstRecord, out var lineBreaks);
            if (status == RecordStatus.Full)
            {
                RollBack();
                pos = recordStart;
                _full = true;
                break;
            }

            if (status == RecordStatus.NeedMore)
            {
                RollBack();
                pos = recordStart;
                needMore = true;
                break;
            }

            // A record that would take the batch past batch_bytes starts the next one, unless the batch is empty:
            // then it is a batch of its own (bounded by max_record_bytes). Re-parsed once per batch, at its boundary.
            var bytes = pos - recordStart;
            if (_rows > 0 && _batchBytes + bytes + ((_rows + 2) * _rowBytes) > _options.BatchBytes)
            {
                RollBack();
                pos = recordStart;
                _full = true;
                break;
            }

            CommitRow(lineBreaks, bytes);
        }

        _consumedBytes += pos - _pos;
        _pos = pos;
        return !needMore;
    }

    private enum RecordStatus
    {
        Complete,
        NeedMore,

        /// <summary>A long field would take the batch past batch_bytes: the record starts the next batch, not appended first.</summary>
        Full,
    }

    /// <summary>Fields at least this long are checked against the batch's bytes before they are appended.</summary>
    private const int LongFieldBytes = 64 * 1024;

    /// <summary>
    /// True when a field ending at <paramref name="fieldEnd"/> would take a non-empty batch past batch_bytes. Checked
    /// before a long field is appended: appended first and rolled back, a 40 MB record grew its column to 80 MB.
    /// </summary>
    private bool WouldOverflow(int recordStart, int fieldEnd) =>
        _rows > 0 && _batchBytes + (fieldEnd - recordStart) + ((_rows + 2) * _rowBytes) > _options.BatchBytes;

    private RecordStatus ParseRecord(ReadOnlySpan<byte> span, ref int pos, bool firstRecord, out int lineBreaks)
    {
        lineBreaks = 0;
        var field = 0;
        var p = pos;
        var columns = _columns;
        var row = _rows;
        while (true)
        {
            if (field >= columns.Length)
            {
                AddColumn(field, firstRecord);
                columns = _columns;
            }

            var column = columns[field];
            if (p < span.Length && span[p] == _quote)
            {
                p++;
                while (true)
                {
                    var q = span[p..].IndexOf(_quote);
                    if (q < 0)
                    {
                        if (!_eof)
                        {
                            return RecordStatus.NeedMore;
                        }

                        throw Error(field, "unterminated quoted field (a quote opened here is never closed)", lineBreaks);
                    }

                    var chunk = span.Slice(p, q);
                    if (q >= LongFieldBytes && WouldOverflow(pos, p + q))
                    {
                        return RecordStatus.Full;
                    }

                    lineBreaks += chunk.Count((byte)'\n');
                    column.Append(chunk);
                    p += q + 1;
                    if (p < span.Length && span[p] == _quote)
                    {
                        column.Append(_quote);
                        p++;
                        continue;
                    }

                    if (p >= span.Length && !_eof)
                    {
                        return RecordStatus.NeedMore;
                    }

                    break;
                }

                column.EndValue(row, isNull: false);
                if (p < span.Length)
                {
                    var after = span[p];
                    if (after != _delimiter && after != (byte)'\n' && after != (byte)'\r')
                    {
                        throw Error(field, $"unexpected character '{Printable(after)}' after a closing quote (a quote inside a field must be doubled)", lineBreaks);
                    }
                }
            }
            else
            {
                var rest = span[p..];
                var e = rest.IndexOfAny(_fieldEnds);
                if (e < 0)
                {
                    if (!_eof)
                    {
                        return RecordStatus.NeedMore;
                    }

                    e = rest.Length;
                }

                var value = rest[..e];
                if (e >= LongFieldBytes && WouldOverflow(pos, p + e))
                {
                    return RecordStatus.Full;
                }

                column.Append(value);
                column.EndValue(row, IsNullToken(value));
                p += e;
            }

            if (p >= span.Length)
            {
                // Only reachable at the end of input: the last record has no line break.
                pos = p;
                return EndRecord(field);
            }

            var b = span[p];
            if (b == _delimiter)
            {
                p++;
                field++;
                continue;
            }

            if (b == (byte)'\r')
            {
                if (p + 1 >= span.Length && !_eof)
                {
                    return RecordStatus.NeedMore;
                }

                p += p + 1 < span.Length && span[p + 1] == (byte)'\n' ? 2 : 1;
            }
            else
            {
                p++; // '\n'
            }

            pos = p;
            return EndRecord(field);
        }
    }

    private RecordStatus EndRecord(int lastField)
    {
        var fields = lastField + 1;
        if (_header is not null && fields != _columns.Length)
        {
            // Named by the line the record starts on: that is where a reader looks for a ragged row.
            throw Error(fields - 1, $"expected {_columns.Length} fields, found {fields}", 0);
        }

        return RecordStatus.Complete;
    }

    /// <summary>The first record adds a column per field; any later record with more fields is ragged.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddColumn(int field, bool firstRecord)
    {
        if (!firstRecord || _header is not null)
        {
            throw Error(field, $"expected {_columns.Length} fields, found more", 0, _columns.Length + 1);
        }

        if (_columns.Length >= _options.MaxColumns)
        {
            throw Error(field, $"more than {_options.MaxColumns:N0} fields (max_columns)", 0, _options.MaxColumns + 1);
        }

        // Copying the array per column is quadratic, but only up to max_columns and only for the first record.
        _columns = [.. _columns, new ColumnBuilder(1, 256)];
    }

    private bool IsNullToken(ReadOnlySpan<byte> value)
    {
        if (value.Length == 0)
        {
            return _emptyIsNull;
        }

        foreach (var t in _nullTokens)
        {
            if (value.SequenceEqual(t))
            {
                return true;
            }
        }

        return false;
    }

    private void CommitRow(int lineBreaks, int bytes)
    {
        if (_lines.Length > _rows)
        {
            _lines[_rows] = _line;
        }

        _line += 1 + lineBreaks;
        _batchBytes += bytes;
        _rows++;
    }

    private void RollBack()
    {
        foreach (var c in _columns)
        {
            c.RollBack(_rows);
        }
    }

    private TextBatch TakeBatch()
    {
        // The next batch is sized from this one's real bytes per row: long records shrink it, short ones grow it back.
        var perRow = Math.Max(1, (_batchBytes + ((_rows + 1) * _rowBytes)) / _rows);
        var nextCap = _options.BatchBytes / perRow;
        nextCap = nextCap >= _options.BatchRows ? _options.BatchRows : (int)Math.Max(1, System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)nextCap + 1) / 2);
        var memory = new BatchMemory();
        var data = new TextColumnData[_columns.Length];
        for (var c = 0; c < data.Length; c++)
        {
            data[c] = _columns[c].Detach(_rows, memory, (int)nextCap);
        }

        var lines = _lines;
        memory.Adopt(lines);
        _rowCap = (int)nextCap;
        _lines = BufferPool.Longs.Rent(_rowCap);
        var batch = new TextBatch(_source, _header!, data, lines, _rows, _batchBytes, memory);
        _rows = 0;
        _batchBytes = 0;
        _full = false;
        return batch;
    }

    private CsvFormatException Error(int field, string reason, int lineBreaks, int? column = null) =>
        new(_source, _line + lineBreaks, column ?? field + 1, reason);

    private static string Printable(byte b) => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"0x{b:X2}";

    /// <summary>A column's buffers while a batch is being filled; detached into the batch when it is full.</summary>
    private sealed class ColumnBuilder
    {
        private const int MaxCarriedValueBytes = 4 * 1024 * 1024;

        private int _batchRows;
        private byte[] _values;
        private byte[] _offsets;
        private byte[] _validity;
        private int _length;

        public ColumnBuilder(int batchRows, int valueBytes)
        {
            _batchRows = batchRows;
            _values = BufferPool.Rent(valueBytes);
            (_offsets, _validity) = RentRowBuffers(batchRows);
        }

        private static (byte[] Offsets, byte[] Validity) RentRowBuffers(int rows)
        {
            var offsets = BufferPool.RentExact((rows + 1) * sizeof(int));
            MemoryMarshal.Cast<byte, int>(offsets.AsSpan())[0] = 0;
            var validity = BufferPool.Rent((rows + 7) / 8);
            Array.Clear(validity, 0, (rows + 7) / 8);
            return (offsets, validity);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (_length + bytes.Length > _values.Length)
            {
                Grow(bytes.Length);
            }

            bytes.CopyTo(_values.AsSpan(_length));
            _length += bytes.Length;
        }

        public void Append(byte b)
        {
            if (_length + 1 > _values.Length)
            {
                Grow(1);
            }

            _values[_length++] = b;
        }

        /// <summary>Ends a row's value; the validity bit is set here, and nulls are counted from the bitmap when the batch is taken.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void EndValue(int row, bool isNull)
        {
            Unsafe.As<byte, int>(ref _offsets[(row + 1) * sizeof(int)]) = _length;
            if (!isNull)
            {
                _validity[row >> 3] |= (byte)(1 << (row & 7));
            }
        }

        public ReadOnlySpan<byte> ValueSpan(int row)
        {
            var offsets = MemoryMarshal.Cast<byte, int>(_offsets);
            return _values.AsSpan(offsets[row], offsets[row + 1] - offsets[row]);
        }

        public void RollBack(int rows)
        {
            _length = MemoryMarshal.Cast<byte, int>(_offsets)[rows];
            _validity[rows >> 3] &= (byte)~(1 << (rows & 7));
        }

        /// <summary>Holds <paramref name="rows"/> rows from now on, keeping the <paramref name="filled"/> rows already parsed.</summary>
        public void EnsureRows(int rows, int filled)
        {
            if (rows == _batchRows)
            {
                return;
            }

            var (offsets, validity) = RentRowBuffers(rows);
            _offsets.AsSpan(0, (filled + 1) * sizeof(int)).CopyTo(offsets);
            _validity.AsSpan(0, (filled + 7) / 8).CopyTo(validity);
            BufferPool.ReturnExact(_offsets);
            BufferPool.Return(_validity);
            (_offsets, _validity, _batchRows) = (offsets, validity, rows);
        }

        public void EnsureValueBytes(int bytes)
        {
            if (_values.Length < bytes)
            {
                Grow(bytes - _length);
            }
        }

        public void Reset()
        {
            _length = 0;
            Array.Clear(_validity, 0, (_batchRows + 7) / 8);
        }

        public TextColumnData Detach(int rows, BatchMemory owner, int nextRows)
        {
            // A record that did not fit was appended before it was rolled back: the batch gets its values in an array
            // of their own size instead of one grown for the record after them (16 MiB for a 5 MB value).
            if (_values.Length > MaxInitialValueBytes && _length <= _values.Length / 2)
            {
                var fitted = BufferPool.Rent(Math.Max(_length, 16));
                Buffer.BlockCopy(_values, 0, fitted, 0, _length);
                BufferPool.Return(_values);
                _values = fitted;
            }

            var data = new TextColumnData(_values, _offsets, _validity, rows - CountSet(_validity, rows));
            owner.Adopt(_values);
            owner.AdoptExact(_offsets);
            owner.Adopt(_validity);

            // The next batch is likely the same size: start it with this one's capacity, up to a few MiB. A column
            // that held one huge value grows again only if the next one is huge too, instead of holding its size
            // while the batch it went to is still in the mesh.
            _values = BufferPool.Rent(Math.Clamp(_length, 256, MaxCarriedValueBytes));
            _batchRows = nextRows;
            (_offsets, _validity) = RentRowBuffers(_batchRows);
            _length = 0;
            return data;
        }

        public void Release()
        {
            BufferPool.Return(_values);
            BufferPool.ReturnExact(_offsets);
            BufferPool.Return(_validity);
        }

        private static int CountSet(byte[] bitmap, int bits)
        {
            var count = 0;
            var whole = bits >> 3;
            foreach (var b in bitmap.AsSpan(0, whole))
            {
                count += System.Numerics.BitOperations.PopCount(b);
            }

            for (var i = whole << 3; i < bits; i++)
            {
                count += (bitmap[i >> 3] >> (i & 7)) & 1;
            }

            return count;
        }

        private void Grow(int needed)
        {
            var bigger = BufferPool.Rent(Math.Max(_values.Length * 2, _length + needed));
            Buffer.BlockCopy(_values, 0, bigger, 0, _length);
            BufferPool.Return(_values);
            _values = bigger;
        }
    }
}
