/* The cost of one drain's 5000-line read, by how it is written and taken (deploy/bench-read.sh):
 * "win" is the server-side byte cut (a running sum window, as ReadBatches reads), "plain" the
 * ordered index scan alone (as ReadNextBatch reads), "size" the plain scan plus the per-row size;
 * text or binary results; the whole result at once or row by row (libpq's single-row mode).
 * It walks one drain's rows in 5000-line steps, as a worker does, and prints the wall time,
 * its own CPU per row and the server backend's CPU per 5000 rows.
 *   usage: read-variants DATABASE_URL win|plain|size BINARY(0|1) SINGLE_ROW(0|1) */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double cpu(){struct rusage r;getrusage(RUSAGE_SELF,&r);return r.ru_utime.tv_sec+r.ru_utime.tv_usec/1e6+r.ru_stime.tv_sec+r.ru_stime.tv_usec/1e6;}
static double pcpu(int pid){char p[64];sprintf(p,"/proc/%d/stat",pid);FILE*f=fopen(p,"r");char b[2048];fgets(b,sizeof b,f);fclose(f);char*s=strrchr(b,')')+2;long ut,st;int i;char*tok=strtok(s," ");for(i=0;i<11;i++)tok=strtok(NULL," ");ut=atol(tok);tok=strtok(NULL," ");st=atol(tok);return (ut+st)/(double)sysconf(_SC_CLK_TCK);}
const char*COLS="l.xact_id, l.id, l.ts, l.message, l.level, l.fal_app_name, l.fal_app_id, l.fal_request_id, l.fal_job_id, l.fal_endpoint, l.fal_node_id, l.fal_worker_id, l.fal_source, l.fal_isolate_source";
int main(int argc,char**argv){
  PGconn*c=PQconnectdb(argv[1]); if(PQstatus(c)!=CONNECTION_OK){fprintf(stderr,"%s",PQerrorMessage(c));return 1;}
  PQclear(PQexec(c,"set timezone='UTC'")); PQclear(PQexec(c,"set datestyle='ISO'"));
  char win[8192],plain[8192],sizeonly[8192];
  const char*size="octet_length(l.message) + octet_length(l.level) + coalesce(octet_length(l.fal_app_name), 0) + coalesce(octet_length(l.fal_app_id), 0) + coalesce(octet_length(l.fal_request_id), 0) + coalesce(octet_length(l.fal_job_id), 0) + coalesce(octet_length(l.fal_endpoint), 0) + coalesce(octet_length(l.fal_node_id), 0) + coalesce(octet_length(l.fal_worker_id), 0) + coalesce(octet_length(l.fal_source), 0) + coalesce(octet_length(l.fal_isolate_source), 0)";
  const char*outcols="d.id as drain_id, b.xact_id::text as xact_id, b.id, b.ts as timestamp, b.message, b.level, b.fal_app_name, b.fal_app_id, b.fal_request_id, b.fal_job_id, b.fal_endpoint, b.fal_node_id, b.fal_worker_id, b.fal_source, b.fal_isolate_source";
  const char*outbin="d.id as drain_id, b.xact_id, b.id, b.ts as timestamp, b.message, b.level, b.fal_app_name, b.fal_app_id, b.fal_request_id, b.fal_job_id, b.fal_endpoint, b.fal_node_id, b.fal_worker_id, b.fal_source, b.fal_isolate_source";
  int binary=atoi(argv[3]); int single=atoi(argv[4]);
  const char*oc=binary?outbin:outcols;
  snprintf(win,sizeof win,"select %s from unnest($1::uuid[], $2::xid8[], $3::bigint[]) v(id, ax, ai) join drains d on d.id = v.id cross join lateral (select * from (select k.*, sum(k.size) over (order by k.xact_id, k.id rows unbounded preceding) - k.size as before from (select %s, %s as size from logs l where l.account_id=d.account_id and (l.xact_id,l.id) > (v.ax, v.ai) and l.xact_id < pg_snapshot_xmin(pg_current_snapshot()) order by l.xact_id,l.id limit d.sampling_rate) k) w where w.before < 4194304) b",oc,COLS,size);
  snprintf(plain,sizeof plain,"select %s from unnest($1::uuid[], $2::xid8[], $3::bigint[]) v(id, ax, ai) join drains d on d.id = v.id cross join lateral (select %s from logs l where l.account_id=d.account_id and (l.xact_id,l.id) > (v.ax, v.ai) and l.xact_id < pg_snapshot_xmin(pg_current_snapshot()) order by l.xact_id,l.id limit d.sampling_rate) b",oc,COLS);
  snprintf(sizeonly,sizeof sizeonly,"select %s from unnest($1::uuid[], $2::xid8[], $3::bigint[]) v(id, ax, ai) join drains d on d.id = v.id cross join lateral (select %s, %s as size from logs l where l.account_id=d.account_id and (l.xact_id,l.id) > (v.ax, v.ai) and l.xact_id < pg_snapshot_xmin(pg_current_snapshot()) order by l.xact_id,l.id limit d.sampling_rate) b",oc,COLS,size);
  const char*sql=!strcmp(argv[2],"win")?win:!strcmp(argv[2],"plain")?plain:sizeonly;
  PGresult*r=PQprepare(c,"q",sql,0,NULL); if(PQresultStatus(r)!=PGRES_COMMAND_OK){fprintf(stderr,"%s",PQerrorMessage(c));return 1;} PQclear(r);
  r=PQexec(c,"select id::text from drains limit 1"); char drain[64]; strcpy(drain,PQgetvalue(r,0,0)); PQclear(r);
  int pid=PQbackendPID(c);
  char ax[32]="0", ai[32]="0"; long rows=0, bytes=0; int batches=0;
  double t0=now(),c0=cpu(),p0=pcpu(pid);
  for(;;){
    char p1[80],p2[40],p3[40]; sprintf(p1,"{%s}",drain); sprintf(p2,"{%s}",ax); sprintf(p3,"{%s}",ai); const char*pv[3]={p1,p2,p3};
    int got=0;
    if(single){
      PQsendQueryPrepared(c,"q",3,pv,NULL,NULL,binary); PQsetSingleRowMode(c);
      while((r=PQgetResult(c))){ int n=PQntuples(r); for(int i=0;i<n;i++){ got++; for(int f=0;f<15;f++) bytes+=PQgetlength(r,i,f);
          if(binary){ unsigned long long x=0; memcpy(&x,PQgetvalue(r,i,1),8); snprintf(ax,32,"%llu",__builtin_bswap64(x)); long long y; memcpy(&y,PQgetvalue(r,i,2),8); snprintf(ai,32,"%lld",(long long)__builtin_bswap64(y)); }
          else { strcpy(ax,PQgetvalue(r,i,1)); strcpy(ai,PQgetvalue(r,i,2)); } }
        PQclear(r);} 
    } else {
      r=PQexecPrepared(c,"q",3,pv,NULL,NULL,binary); if(PQresultStatus(r)!=PGRES_TUPLES_OK){fprintf(stderr,"%s",PQerrorMessage(c));return 1;}
      int n=PQntuples(r); got=n; for(int i=0;i<n;i++) for(int f=0;f<15;f++) bytes+=PQgetlength(r,i,f);
      if(n){ if(binary){ unsigned long long x=0; memcpy(&x,PQgetvalue(r,n-1,1),8); snprintf(ax,32,"%llu",__builtin_bswap64(x)); long long y; memcpy(&y,PQgetvalue(r,n-1,2),8); snprintf(ai,32,"%lld",(long long)__builtin_bswap64(y)); }
        else { strcpy(ax,PQgetvalue(r,n-1,1)); strcpy(ai,PQgetvalue(r,n-1,2)); } }
      PQclear(r);
    }
    if(!got) break; rows+=got; batches++;
  }
  double t1=now(),c1=cpu(),p1=pcpu(pid);
  printf("%-8s binary=%d single=%d: %ld rows %d batches, %.2f s wall = %.0f rows/s; client cpu %.2f s (%.2f us/row); server cpu %.2f s (%.2f ms/5000)\n",argv[2],binary,single,rows,batches,t1-t0,rows/(t1-t0),c1-c0,(c1-c0)/rows*1e6,p1-p0,(p1-p0)/batches*1000);
  return 0;}
