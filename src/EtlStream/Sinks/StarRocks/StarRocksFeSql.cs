using System.Globalization;
using MySqlConnector;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// The FE's MySQL port, the one way every StarRocks/Doris statement reaches it: the sink's schema check and VARCHAR
/// widening, a refresh's staging table and swap, init-db, and the in-cluster backfill's statements and label states.
/// </summary>
internal static class StarRocksFeSql
{
    /// <summary>
    /// A connection to the FE's MySQL port, its login bounded by <c>connect_timeout=</c> and its statements by
    /// <c>timeout=</c>; a failure names the port (<c>starrocks fe mysql host:port</c>), never the password.
    /// </summary>
    public static async Task<MySqlConnection> OpenAsync(StarRocksSinkOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var connectSeconds = WholeSeconds(options.ConnectTimeout);
        var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = options.Host,
            Port = (uint)(options.MySqlPort ?? throw new InvalidOperationException($"{options.Database}.{options.Table}: no MySQL port is set for schema statements.")),
            UserID = options.User,
            Password = options.Password,
            SslMode = options.UseTls ? MySqlSslMode.Preferred : MySqlSslMode.None,
            Pooling = false,
            ConnectionTimeout = (uint)connectSeconds,
            DefaultCommandTimeout = (uint)WholeSeconds(options.RequestTimeout),
        }.ConnectionString);
        try
        {
            // WaitAsync too: the connect timeout is the driver's, and a server silent after the TCP accept must not
            // depend on the driver seeing it.
            await connection.OpenAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(connectSeconds + 1), cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (Exception e) when (e is MySqlException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            for (var inner = e; inner is not null; inner = inner.InnerException)
            {
                if (inner is TimeoutException or OperationCanceledException || inner.Message.StartsWith("Connect Timeout expired", StringComparison.Ordinal))
                {
                    throw new StreamLoadException(string.Create(CultureInfo.InvariantCulture,
                        $"{options.MySqlName}: no answer within {connectSeconds} s while connecting (connect_timeout={connectSeconds})"), e);
                }
            }

            throw new StreamLoadException($"{options.MySqlName}: cannot connect as {options.User}: {options.Redact(e.Message)}", e);
        }
    }

    /// <summary>
    /// A statement's failure on the FE's MySQL port, naming the port: a timeout says what was being done and how long
    /// it waited (<c>starrocks fe mysql host:port: no answer within 600 s while reading the table's columns (timeout=600)</c>).
    /// </summary>
    public static StreamLoadException Failure(StarRocksSinkOptions options, MySqlException e, string doing) =>
        new(e.ErrorCode == MySqlErrorCode.CommandTimeoutExpired
            ? string.Create(CultureInfo.InvariantCulture, $"{options.MySqlName}: no answer within {WholeSeconds(options.RequestTimeout)} s while {doing} (timeout={WholeSeconds(options.RequestTimeout)})")
            : $"{options.MySqlName}: {doing}: {options.Redact(e.Message)}", e);

    /// <summary>MySqlConnector counts in whole seconds: a fraction rounds up, so a wait is never shorter than asked.</summary>
    public static int WholeSeconds(TimeSpan span) => (int)Math.Max(1, Math.Ceiling(span.TotalSeconds));
}
