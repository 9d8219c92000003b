using System.Buffers;
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
public sealed partial class CsvArrowParser : IRecordReader
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
}
