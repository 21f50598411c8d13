; Zone foobar.com of the lab: rendered by infractl from the stack's records.
$ORIGIN foobar.com.
$TTL 300
@   IN SOA ns.foobar.com. hostmaster.foobar.com. (
        90746095 ; serial (changes with the records)
        3600       ; refresh
        600        ; retry
        86400      ; expire
        60 )       ; negative answers
    IN NS  ns.foobar.com.
ns  IN A   10.100.0.2
@  IN A  10.100.0.10
www  IN A  10.100.0.10
blog  IN CNAME  www
@  IN MX  10 mail
mail  IN A  10.100.0.2
@  IN TXT  "v=spf1 mx -all"
